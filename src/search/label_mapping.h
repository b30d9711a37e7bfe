// LabelMapping: from detector labels to catalog words. Each detector label maps to the catalog categories
// that sell such objects and to keywords (synonyms) matched against product text with FTS5. It is data,
// loaded from a JSON file (data/search/label_mapping.json by default):
//
//   {"version": 1,
//    "weights": {"visual": 0.5, "label": 0.5, "query": 0.5, "colour": 0.2},  // optional fusion weights
//    "min_score": {"fused": 0.3, "visual": 0.6, "label": 0.0},  // optional: weaker matches are not shown
//    "labels": {"cup": {"categories": ["Mugs & Cups"], "keywords": ["cup", "mug", "coffee mug"]}, ...}}
//
// A label absent from the file maps to no category and to itself as the only keyword.
// Failure modes: load() -> kNotFound (file), kInvalidArgument (malformed, naming the file and the field).
// Thread-safety: immutable after load; const methods may be called concurrently.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace visearch::search {

struct LabelTerms {
  std::vector<std::string> categories;
  std::vector<std::string> keywords;  // the label itself is always included
};

struct FusionWeights {
  double visual = 0.5;
  double label = 0.5;
  double query = 0.5;   // the shopper's words (SearchOptions::query_text), fused ranking only
  double colour = 0.2;  // colour agreement (search/colour.h), fused ranking only
};

// Every field of FusionWeights with its name in the mapping file's "weights" object: what the parser reads
// and `search-eval --tune` varies. A new weight is one more line here.
struct FusionWeightField {
  const char* name;
  double FusionWeights::*field;
};
inline constexpr std::array<FusionWeightField, 4> kFusionWeightFields{{
    {"visual", &FusionWeights::visual},
    {"label", &FusionWeights::label},
    {"query", &FusionWeights::query},
    {"colour", &FusionWeights::colour},
}};

class LabelMapping {
 public:
  LabelMapping() = default;
  static Result<LabelMapping> load(const std::string& path);
  static Result<LabelMapping> parse(const std::string& json_text, const std::string& origin);

  // Terms for a detector label (case-insensitive lookup).
  [[nodiscard]] LabelTerms terms(const std::string& label) const;
  // The first mapped category of a label, or "" when unmapped.
  [[nodiscard]] std::string primary_category(const std::string& label) const;
  [[nodiscard]] const FusionWeights& weights() const { return weights_; }
  // The least score a product needs to be shown, per ranking ("fused", "visual", "label"); 0 when unset.
  [[nodiscard]] double min_score(const std::string& ranking) const {
    auto it = min_score_.find(ranking);
    return it == min_score_.end() ? 0.0 : it->second;
  }
  [[nodiscard]] std::size_t size() const { return labels_.size(); }
  [[nodiscard]] const std::map<std::string, LabelTerms>& labels() const { return labels_; }

 private:
  std::map<std::string, LabelTerms> labels_;  // key: lower-case label
  FusionWeights weights_;
  std::map<std::string, double> min_score_;
};

std::string to_lower_ascii(std::string text);

// The mapping shipped with visearch (data/search/label_mapping.json in the source tree, set at build time).
std::string default_label_mapping_path();

}  // namespace visearch::search
