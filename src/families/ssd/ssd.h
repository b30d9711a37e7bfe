// SSD with TFLite-style anchors (TF Object Detection API export):
//
//   box_encodings [1, A, 4]   (ty, tx, th, tw) per anchor
//   class_scores  [1, A, K]   sigmoid scores; column 0 = background
//   anchors file  A rows "ycenter xcenter height width" (normalised), '#' comments
//
//   yc = ty / sy * ha + ya, xc = tx / sx * wa + xa, h = exp(th / sh) * ha, w = exp(tw / sw) * wa
//   with box_scales (sy, sx, sh, sw) = (10, 10, 5, 5) by default; normalised corners
//   are multiplied by the input size.
//
// decoder.score_columns[i] is the score column of label i, so a 91-id COCO
// label map becomes the spec's 80 labels without gaps.
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_ssd(FamilyRegistry& registry);
}
