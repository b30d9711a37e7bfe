// torchvision detection models exported with torch.onnx (Faster R-CNN, RetinaNet, FCOS, SSD, SSDlite):
// the model's own transform (resize, normalisation) and NMS are in the graph.
//
//   input    float [3, H, W]  one image, 0..1 (spec: "layout": "chw", "scale": 1/255, and the model's
//                             resize rule as "resize": "keep_aspect" with min_side / max_side)
//   boxes    [N, 4]   (x1, y1, x2, y2) in the pixels of the tensor that was fed
//   labels   [N]      int64 class ids; 0 is the background, COCO weights use the 91-id map
//   scores   [N]      descending
//
// A leading batch axis of 1 ([1, N, 4], [1, N]) is accepted as well. Matched by name
// (decoder.outputs.boxes / labels / scores). Class ids through decoder.class_ids / class_id_offset
// (default offset 1). No NMS again unless decoder.nms is true.
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_torchvision(FamilyRegistry& registry);
}
