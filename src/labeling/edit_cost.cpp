#include "labeling/edit_cost.h"

#include <algorithm>
#include <functional>
#include <tuple>

namespace visearch::labeling {

EditCount& EditCount::operator+=(const EditCount& other) {
  truth += other.truth;
  proposals += other.proposals;
  kept += other.kept;
  class_changes += other.class_changes;
  moves += other.moves;
  deletes += other.deletes;
  adds += other.adds;
  return *this;
}

EditCount count_edits(const std::vector<LabelBox>& proposals, const std::vector<LabelBox>& truth,
                      const EditCostOptions& options) {
  EditCount count;
  count.truth = truth.size();
  count.proposals = proposals.size();
  std::vector<bool> proposal_used(proposals.size(), false);
  std::vector<bool> truth_used(truth.size(), false);
  // One greedy pass: pairs accepted by `eligible`, highest IoU first (ties: proposal, then truth order).
  const auto pass = [&](const std::function<bool(const LabelBox&, const LabelBox&, double)>& eligible) {
    std::vector<std::tuple<double, std::size_t, std::size_t>> pairs;
    for (std::size_t p = 0; p < proposals.size(); ++p) {
      if (proposal_used[p]) continue;
      for (std::size_t t = 0; t < truth.size(); ++t) {
        if (truth_used[t]) continue;
        const double iou = box_iou(proposals[p], truth[t]);
        if (eligible(proposals[p], truth[t], iou)) pairs.emplace_back(iou, p, t);
      }
    }
    std::stable_sort(pairs.begin(), pairs.end(),
                     [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
    std::size_t matched = 0;
    for (const auto& [iou, p, t] : pairs) {
      if (proposal_used[p] || truth_used[t]) continue;
      proposal_used[p] = true;
      truth_used[t] = true;
      ++matched;
    }
    return matched;
  };
  count.kept = pass([&](const LabelBox& p, const LabelBox& t, double iou) {
    return p.class_id == t.class_id && iou >= options.keep_iou;
  });
  count.class_changes = pass([&](const LabelBox& p, const LabelBox& t, double iou) {
    return p.class_id != t.class_id && iou >= options.keep_iou;
  });
  count.moves = pass([&](const LabelBox& p, const LabelBox& t, double iou) {
    return p.class_id == t.class_id && iou >= options.move_iou && iou < options.keep_iou;
  });
  count.deletes = static_cast<std::size_t>(std::count(proposal_used.begin(), proposal_used.end(), false));
  count.adds = static_cast<std::size_t>(std::count(truth_used.begin(), truth_used.end(), false));
  return count;
}

}  // namespace visearch::labeling
