// Ultralytics YOLOv5 ONNX export (export.py, default head):
//
//   output [1, N, 5 + C]   row = [cx, cy, w, h, obj, cls_0 .. cls_{C-1}]
//                          box in input pixels; obj and cls already sigmoid
//   score = obj * max_k cls_k
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_yolov5(FamilyRegistry& registry);
}
