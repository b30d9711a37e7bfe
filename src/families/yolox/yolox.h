// YOLOX (official ONNX export with decode_in_inference=False):
//
//   output [1, N, 5 + C]   N = sum over strides s of (H/s) * (W/s), levels in stride order,
//                          row-major inside a level (y outer, x inner)
//   row = [tx, ty, tw, th, obj, cls_0 .. cls_{C-1}]   obj, cls already sigmoid
//
//   cx = (tx + gx) * s, cy = (ty + gy) * s, w = exp(tw) * s, h = exp(th) * s   [input pixels]
//   score = obj * max_k cls_k
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_yolox(FamilyRegistry& registry);
}
