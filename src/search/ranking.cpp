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

double colour_agreement(const ColourProfile& query, std::span<const ColourProfile> product_objects,
                        std::uint16_t declared) {
  double sum = 0;
  int parts = 0;
  if (has_colour(query)) {
    double best = -1;
    for (const ColourProfile& o : product_objects) {
      if (has_colour(o)) best = std::max(best, colour_similarity(query, o));
    }
    if (best >= 0) {
      sum += best;
      ++parts;
    }
  }
  if (auto match = declared_colour_match(query, declared)) {
    sum += *match;
    ++parts;
  }
  return parts == 0 ? -1.0 : sum / parts;
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
      case Ranking::kFused: {
        double sum = w.visual * parts.visual + w.label * parts.label;
        double weight = w.visual + w.label;
        if (params.use_query) {
          parts.query = params.best_query > 0 ? c.query_raw / params.best_query : 0.0;
          sum += w.query * parts.query;
          weight += w.query;
        }
        if (params.use_colour && c.colour >= 0) {
          parts.colour = std::clamp(c.colour, 0.0, 1.0);
          sum += w.colour * parts.colour;
          weight += w.colour;
        }
        score = weight > 0 ? sum / weight : 0.0;
        break;
      }
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
