// Ultralytics YOLOv8 / YOLO11 ONNX export (anchor-free, decode in graph):
//
//   output [1, 4 + C, N]   column j = [cx, cy, w, h, score_0 .. score_{C-1}]
//                          box in input pixels; class scores already sigmoid, no objectness
//   score = max_k score_k
//
// decoder.layout "channels_first" (default, as exported) or "channels_last"
// ([1, N, 4 + C], seen after a transpose in some pipelines).
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_yolov8(FamilyRegistry& registry);
}
