#include <algorithm>
#include <numeric>

#include "core/detection.h"

namespace visearch {

std::vector<Candidate> non_max_suppression(std::vector<Candidate> candidates, const NmsOptions& options) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  std::vector<Candidate> kept;
  kept.reserve(std::min(candidates.size(), options.max_detections));
  for (const Candidate& cand : candidates) {
    if (kept.size() >= options.max_detections) break;
    const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const Candidate& k) {
      return (options.class_agnostic || k.class_id == cand.class_id) &&
             iou(k.box, cand.box) > options.iou_threshold;
    });
    if (!suppressed) kept.push_back(cand);
  }
  return kept;
}

}  // namespace visearch
