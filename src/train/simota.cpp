#include "train/simota.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace visearch::train {
namespace {

// -log(p) with PyTorch's BCE clamp (log >= -100).
float neg_log(float p) {
  return std::min(100.F, -std::log(std::max(p, 0.F)));
}

// Varifocal loss of a negative class (target 0): alpha * p^gamma * -log(1 - p), alpha 0.75, gamma 2.
float vfl_negative(float p) {
  return 0.75F * p * p * neg_log(1.F - p);
}

}  // namespace

float box_iou(const float* a, const GtBox& b) {
  const float iw = std::max(0.F, std::min(a[2], b.x2) - std::max(a[0], b.x1));
  const float ih = std::max(0.F, std::min(a[3], b.y2) - std::max(a[1], b.y1));
  const float inter = iw * ih;
  const float area_a = std::max(0.F, a[2] - a[0]) * std::max(0.F, a[3] - a[1]);
  const float area_b = std::max(0.F, b.x2 - b.x1) * std::max(0.F, b.y2 - b.y1);
  const float uni = area_a + area_b - inter;
  return uni > 0.F ? inter / uni : 0.F;
}

Assignment simota_assign(const SimOtaInput& in) {
  Assignment out;
  const auto num_anchors = static_cast<int>(in.anchors.size());
  const auto num_gt = static_cast<int>(in.gts.size());
  if (num_gt == 0 || num_anchors == 0) return out;
  const int k = in.num_classes;

  // Candidate anchors (in a box or near its centre for any gt), and per (g, a) whether it is in both.
  std::vector<char> in_box(static_cast<std::size_t>(num_gt) * num_anchors, 0);
  std::vector<char> in_center(in_box.size(), 0);
  std::vector<int> candidates;
  for (int a = 0; a < num_anchors; ++a) {
    const AnchorPoint& p = in.anchors[static_cast<std::size_t>(a)];
    bool any = false;
    for (int g = 0; g < num_gt; ++g) {
      const GtBox& b = in.gts[static_cast<std::size_t>(g)];
      const std::size_t idx = static_cast<std::size_t>(g) * num_anchors + a;
      in_box[idx] = static_cast<char>(p.cx > b.x1 && p.cx < b.x2 && p.cy > b.y1 && p.cy < b.y2);
      const float r = in.center_radius * p.stride;
      const float gcx = (b.x1 + b.x2) / 2.F;
      const float gcy = (b.y1 + b.y2) / 2.F;
      in_center[idx] =
          static_cast<char>(p.cx > gcx - r && p.cx < gcx + r && p.cy > gcy - r && p.cy < gcy + r);
      any = any || in_box[idx] != 0 || in_center[idx] != 0;
    }
    if (any) candidates.push_back(a);
  }
  if (candidates.empty()) return out;
  const auto num_cand = static_cast<int>(candidates.size());

  // Per candidate: the score used for the class cost and the sum over classes of its negative-class term.
  const bool varifocal = in.cls_cost == ClsCost::kVarifocal;
  std::vector<float> joint(static_cast<std::size_t>(num_cand) * k);
  std::vector<float> neg_sum(static_cast<std::size_t>(num_cand), 0.F);
  for (int c = 0; c < num_cand; ++c) {
    const int a = candidates[static_cast<std::size_t>(c)];
    const float obj = in.obj_prob != nullptr ? in.obj_prob[a] : 1.F;
    for (int j = 0; j < k; ++j) {
      const float q = std::max(0.F, in.cls_prob[static_cast<std::size_t>(a) * k + j] * obj);
      const float p = varifocal ? q : std::sqrt(q);
      joint[static_cast<std::size_t>(c) * k + j] = p;
      neg_sum[static_cast<std::size_t>(c)] += varifocal ? vfl_negative(p) : neg_log(1.F - p);
    }
  }
  std::vector<float> cost(static_cast<std::size_t>(num_gt) * num_cand);
  std::vector<float> ious(cost.size());
  for (int g = 0; g < num_gt; ++g) {
    const GtBox& b = in.gts[static_cast<std::size_t>(g)];
    for (int c = 0; c < num_cand; ++c) {
      const int a = candidates[static_cast<std::size_t>(c)];
      const std::size_t gc = static_cast<std::size_t>(g) * num_cand + c;
      const float iou = box_iou(in.pred_boxes + static_cast<std::ptrdiff_t>(a) * 4, b);
      ious[gc] = iou;
      const float p = joint[static_cast<std::size_t>(c) * k + b.cls];
      const float cls_cost =
          varifocal
              ? neg_sum[static_cast<std::size_t>(c)] - vfl_negative(p) +
                    (iou > 0.F ? iou * (iou * neg_log(p) + (1.F - iou) * neg_log(1.F - p)) : vfl_negative(p))
              : neg_sum[static_cast<std::size_t>(c)] - neg_log(1.F - p) + neg_log(p);
      const std::size_t ga = static_cast<std::size_t>(g) * num_anchors + a;
      const bool both = in_box[ga] != 0 && in_center[ga] != 0;
      cost[gc] = cls_cost + in.iou_weight * -std::log(iou + 1e-8F) + (both ? 0.F : 100000.F);
    }
  }

  // Dynamic k per gt, then its k cheapest candidates.
  std::vector<int> owner(static_cast<std::size_t>(num_cand), -1);
  std::vector<float> owner_cost(static_cast<std::size_t>(num_cand), std::numeric_limits<float>::infinity());
  std::vector<int> order(static_cast<std::size_t>(num_cand));
  for (int g = 0; g < num_gt; ++g) {
    const float* gi = ious.data() + static_cast<std::ptrdiff_t>(g) * num_cand;
    const float* gcost = cost.data() + static_cast<std::ptrdiff_t>(g) * num_cand;
    std::vector<float> top(gi, gi + num_cand);
    const int n_top = std::min(10, num_cand);
    std::partial_sort(top.begin(), top.begin() + n_top, top.end(), std::greater<>());
    const float sum = std::accumulate(top.begin(), top.begin() + n_top, 0.F);
    const int dynamic_k = std::clamp(static_cast<int>(sum), 1, num_cand);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return gcost[x] < gcost[y]; });
    for (int i = 0; i < dynamic_k; ++i) {
      const auto c = static_cast<std::size_t>(order[static_cast<std::size_t>(i)]);
      if (gcost[c] < owner_cost[c]) {  // an anchor wanted by several boxes keeps the cheapest
        owner_cost[c] = gcost[c];
        owner[c] = g;
      }
    }
  }
  for (int c = 0; c < num_cand; ++c) {
    const int g = owner[static_cast<std::size_t>(c)];
    if (g < 0) continue;
    out.anchor.push_back(candidates[static_cast<std::size_t>(c)]);
    out.gt.push_back(g);
    out.iou.push_back(ious[static_cast<std::size_t>(g) * num_cand + c]);
  }
  return out;
}

}  // namespace visearch::train
