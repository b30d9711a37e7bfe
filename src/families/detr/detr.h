// DETR-style set predictions (RT-DETR, D-FINE, RF-DETR exports): one box and a score per class for each
// of Q queries; no NMS, the best max_detections (query, class) pairs by score are kept ("top-k").
//
//   one output         [1, Q, 4 + G]   row = (box, score_0 .. score_{G-1})   (Ultralytics RT-DETR)
//   or two outputs     boxes [1, Q, 4] and scores / logits [1, Q, G]         (decoder.outputs names both)
//
//   box      decoder.box_format "cxcywh" (default) or "xyxy"; normalised to the input (0..1) unless
//            decoder.normalized is false (input pixels)
//   scores   decoder.score_activation "none" (already sigmoid, the default) or "sigmoid" (raw logits)
//
// The single output is matched by shape (the only [1, Q, >4] output) or by decoder.outputs.predictions;
// the two by name (decoder.outputs.boxes / scores). Label i reads column class_ids[i] (default: i).
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_detr(FamilyRegistry& registry);
}
