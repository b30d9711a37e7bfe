// TensorFlow Object Detection API exports converted with tf2onnx (EfficientDet, SSD, Faster R-CNN,
// CenterNet): pre- and post-processing, NMS included, are in the graph.
//
//   input              uint8 [1, H, W, 3]   any H x W (spec: "type": "uint8", "layout": "nhwc")
//   detection_boxes    [1, N, 4]   row i = (ymin, xmin, ymax, xmax), normalised to the input (0..1)
//   detection_scores   [1, N]      descending
//   detection_classes  [1, N]      label-map ids, 1-based (float); the COCO models use the 91-id map
//   num_detections     [1]         rows at and after it are padding
//
// Matched by name (decoder.outputs.boxes / scores / classes / count override the names above). Class ids
// go through decoder.class_ids / class_id_offset (default offset 1: label i is id i + 1). No NMS again
// unless decoder.nms is true.
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_tf_od_api(FamilyRegistry& registry);
}
