// The one list of model families. Adding a family = a folder under families/
// with a register_<family>() function, plus one line in all_families.cpp.
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_all_families(FamilyRegistry& registry);
// A process-wide registry holding every family (built on first use; read-only afterwards, so safe to share
// between threads).
const FamilyRegistry& shipped_families();
}  // namespace visearch
