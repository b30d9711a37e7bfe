// SimOTA label assignment (YOLOX, arXiv 2107.08430, section 2.2), on plain arrays so that it can be
// tested on hand-made cases.
//
// For every ground-truth box g, the candidate anchors are those whose cell centre lies inside g or within
// `center_radius` strides of g's centre. The cost of assigning anchor a to g is
//   BCE(sqrt(cls_a * obj_a), one-hot(g's class)) + 3 * -log(IoU(pred_a, g)) + 1e5 * [a not in both regions]
// With ClsCost::kVarifocal (PicoDet), the class term is instead the varifocal loss of the anchor's class
// scores against an IoU-aware target (IoU at g's class, 0 elsewhere) and the IoU term is weighted by
// `iou_weight` (6 for PicoDet). `obj_prob` may then be null (no objectness branch).
// g takes its dynamic_k cheapest candidates, dynamic_k = max(1, floor(sum of g's 10 largest IoUs)); an anchor
// taken by several boxes keeps the cheapest one.
//
// Thread-safety: pure function. Cost: O(G * A_candidates * K).
#pragma once

#include <span>
#include <vector>

namespace visearch::train {

struct AnchorPoint {
  float cx = 0;  // cell centre in input pixels
  float cy = 0;
  float stride = 0;
};

struct GtBox {
  float x1 = 0;  // input pixels
  float y1 = 0;
  float x2 = 0;
  float y2 = 0;
  int cls = 0;
};

enum class ClsCost { kBce, kVarifocal };

struct SimOtaInput {
  std::span<const AnchorPoint> anchors;
  std::span<const GtBox> gts;
  const float* pred_boxes = nullptr;  // A x 4, x1 y1 x2 y2
  const float* cls_prob = nullptr;    // A x K, sigmoid
  const float* obj_prob = nullptr;    // A, sigmoid; null = no objectness (taken as 1)
  int num_classes = 0;
  float center_radius = 2.5F;
  ClsCost cls_cost = ClsCost::kBce;
  float iou_weight = 3.F;
};

struct Assignment {
  std::vector<int> anchor;  // foreground anchors, ascending
  std::vector<int> gt;      // the box each one is assigned to
  std::vector<float> iou;   // IoU of its prediction with that box
};

Assignment simota_assign(const SimOtaInput& in);

float box_iou(const float* a, const GtBox& b);

}  // namespace visearch::train
