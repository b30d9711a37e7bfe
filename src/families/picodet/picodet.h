// PP-PicoDet (v1 / legacy export): GFL head, 4 levels (strides 8/16/32/64),
// reg_max 7, anchor at the cell centre. Layout: see families/common/gfl_head.h.
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_picodet(FamilyRegistry& registry);
}
