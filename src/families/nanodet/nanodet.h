// NanoDet-m (legacy): GFL head, 3 levels (strides 8/16/32), reg_max 7, anchor
// point x * s + (s - 1) / 2. Layout: see families/common/gfl_head.h.
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_nanodet(FamilyRegistry& registry);
}
