#include "search/ranking.h"

#include <algorithm>

namespace visearch::search {
namespace {

constexpr double kCategoryShare = 0.6;  // label = 0.6 * category + 0.4 * text

}  // namespace

Result<Ranking> parse_ranking(std::string_view text) {
  if (text == "fused") return Ranking::kFused;
  if (text == "visual") return Ranking::kVisual;
  if (text == "label") return Ranking::kLabel;
  return Unexpected{ErrorCode::kInvalidArgument,
                    "ranking must be fused, visual or label (got '" + std::string(text) + "')"};
}

std::string_view ranking_name(Ranking ranking) {
  switch (ranking) {
    case Ranking::kFused:
      return "fused";
    case Ranking::kVisual:
      return "visual";
    case Ranking::kLabel:
      return "label";
  }
  return "fused";
}

std::vector<FusedCandidate> fuse(const std::vector<FusionCandidate>& candidates, const FusionParams& params) {
  std::vector<FusedCandidate> scored;
  scored.reserve(candidates.size());
  const FusionWeights& w = params.weights;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const FusionCandidate& c = candidates[i];
    ScoreComponents parts;
    if (params.use_visual) parts.visual = std::clamp(c.visual, 0.0, 1.0);
    if (params.use_label) {
      parts.category = c.in_label_category ? 1.0 : 0.0;
      parts.text = params.best_text > 0 ? c.text_raw / params.best_text : 0.0;
      parts.label = kCategoryShare * parts.category + (1.0 - kCategoryShare) * parts.text;
    }
    double score = 0;
    switch (params.ranking) {
      case Ranking::kVisual:
        score = parts.visual;
        break;
      case Ranking::kLabel:
        score = parts.label;
        break;
      case Ranking::kFused:
        if (params.use_query) {
          parts.query = params.best_query > 0 ? c.query_raw / params.best_query : 0.0;
          score = (w.visual * parts.visual + w.label * parts.label + w.query * parts.query) /
                  (w.visual + w.label + w.query);
        } else {
          score = (w.visual * parts.visual + w.label * parts.label) / (w.visual + w.label);
        }
        break;
    }
    if (params.ranking == Ranking::kLabel && score <= 0) continue;
    if (score < params.min_score) continue;
    scored.push_back(FusedCandidate{i, score, parts});
  }
  const auto order = [&](const FusedCandidate& a, const FusedCandidate& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.components.visual != b.components.visual) return a.components.visual > b.components.visual;
    return candidates[a.candidate].id < candidates[b.candidate].id;
  };
  const std::size_t keep = std::min(scored.size(), static_cast<std::size_t>(std::max(params.limit, 0)));
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(keep), scored.end(), order);
  scored.resize(keep);
  return scored;
}

}  // namespace visearch::search
