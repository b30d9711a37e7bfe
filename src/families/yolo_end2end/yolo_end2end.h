// NMS-free YOLO exports (Ultralytics YOLOv10 and YOLO26, `end2end` heads): one box per row, already final.
//
//   output [1, N, 6]   row = (x1, y1, x2, y2, score, class)   box in input pixels, N = max_det (300)
//
// Matched by shape (the only [1, N, 6] output) or by decoder.outputs.predictions. Class ids through
// decoder.class_ids / class_id_offset (default 0). No NMS unless decoder.nms is true.
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_yolo_end2end(FamilyRegistry& registry);
}
