// Search relevance as a search team measures it: a judgments file in, precision@k, recall@k, nDCG@k and MRR
// out, per query and overall (`visearch search-eval`, bench/search_retrieval.sh).
//
// Judgments file: JSON lines, one query each (blank lines and lines starting with '#' are skipped):
//   {"id": "q1", "image": "photos/sofa.jpg", "box": [x1, y1, x2, y2],
//    "products": {"sku-1": 3, "sku-2": 1}, "categories": {"sofas": 2}}
//   image       path, relative to the judgments file's folder unless absolute (required)
//   box         optional: the query region in pixels of the upright image (as POST /v1/search's `box`);
//               it is also the ground-truth object for the object recall
//   products    relevant product ids with grades 1..3 (a list ["sku-1", ...] means grade 1 each)
//   categories  relevant categories (case-insensitive) with grades, or a list; a product's grade is the
//               larger of its own and its category's
//   id          optional, default "line N"
// At least one of products / categories must name something relevant.
//
// Metrics of one query over its ranked product list (the first query object's list: the region's with a
// box, else the first object the photo analysis returns):
//   precision@k  relevant products in the top k / k
//   recall@k     relevant products in the top k / all relevant products in the catalog
//   nDCG@k       DCG with gain 2^grade - 1 and discount log2(rank + 1), over the ideal DCG of the catalog's
//                relevant products
//   MRR          1 / rank of the first relevant product within the longest k (0 when none)
//   object found (queries with a box) whether the photo analysis of the whole photo found an object with
//                IoU >= 0.5 with the box: detection decides what can be searched at all
// Means are over the queries; queries with no relevant product in the catalog are reported and left out.
//
// Thread-safety: pure functions. Failure modes: kInvalidArgument naming the line for a malformed file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/geometry.h"
#include "core/result.h"
#include "search/label_mapping.h"
#include "search/ranking.h"

namespace visearch::search {

struct Judgment {
  std::string id;
  std::string image;  // resolved path
  std::optional<ImageBox> box;
  std::map<std::string, int> products;    // id -> grade >= 1
  std::map<std::string, int> categories;  // lower-case category -> grade >= 1
};

struct JudgmentLimits {
  std::size_t max_queries = 100000;
  std::size_t max_line_bytes = 1 << 20;
};

Result<std::vector<Judgment>> parse_judgments(std::string_view text, const std::string& base_dir,
                                              const JudgmentLimits& limits = {});

// What the catalog holds that a judgment can find: product id -> lower-case category.
struct RelevanceUniverse {
  std::map<std::string, std::string> category_of;
  std::map<std::string, std::vector<std::string>> products_in;  // lower-case category -> ids
};

struct RankedProduct {
  std::string id;
  std::string category;
  double score = 0;
};

struct QueryMetrics {
  std::string id;
  std::map<int, double> precision;  // k -> value
  std::map<int, double> recall;
  std::map<int, double> ndcg;
  double reciprocal_rank = 0;
  int relevant_in_catalog = 0;
  std::optional<bool> object_found;
  std::vector<std::pair<double, int>> top;  // (score, grade) of the ranked products, best first
};

// Grade of a product for a judgment (0 = not relevant).
int grade_of(const Judgment& judgment, const std::string& product_id, const std::string& category);

QueryMetrics score_query(const Judgment& judgment, const std::vector<RankedProduct>& ranked,
                         const RelevanceUniverse& universe, const std::vector<int>& ks);

struct EvalSummary {
  int queries = 0;           // scored (with relevant products in the catalog)
  int without_relevant = 0;  // left out: nothing relevant in the catalog
  std::map<int, double> precision;
  std::map<int, double> recall;
  std::map<int, double> ndcg;
  double mrr = 0;
  int objects_judged = 0;  // queries with a box
  int objects_found = 0;
};

EvalSummary summarize(const std::vector<QueryMetrics>& queries, const std::vector<int>& ks);

// What a minimum score would do (choosing SearchOptions::min_score from data): for each threshold, over the
// queries with relevant products, the share still answered (at least one product kept) and the precision
// of the kept products within the top k; over the queries with nothing relevant in the catalog (a shopper
// photographing something the shop does not sell), the share correctly left without products.
struct ThresholdPoint {
  double min_score = 0;
  double answered = 0;        // share of positive queries with a product kept
  double precision_kept = 0;  // relevant kept / kept, top k
  double rejected = 0;        // share of negative queries with nothing kept
};
std::vector<ThresholdPoint> sweep_min_score(const std::vector<QueryMetrics>& queries, int k,
                                            const std::vector<double>& thresholds);

// "5,10" -> {5, 10}: positive, at most 100, sorted, unique.
Result<std::vector<int>> parse_cutoffs(std::string_view text);

// ---- search-eval --tune: a grid search over the fusion weights ----
// Each query's candidates and fusion parameters are gathered once (SearchOptions::candidate_sink); each
// weight set re-ranks them with fuse(), the one fusion rule, so a candidate costs no catalog access.
// Grid: every field of FusionWeights (kFusionWeightFields) takes 0, 0.1, ..., 1 and its current value,
// in that field order, the last field varying fastest; sets the mapping parser refuses are skipped.
// Optionally the fused min_score too: 0, 0.05, ..., 0.9 and its current value, varying fastest.
// The best set maximises the objective; a tie (within 1e-12) goes to the set nearest the current values
// (sum of absolute differences), then to the earlier set in grid order, so the current values only change
// on a strict gain and a weight that changes nothing (e.g. `query` with no shopper words) keeps its value.

struct TuneObjective {
  enum class Metric { kNdcg, kPrecision, kRecall, kMrr, kShown } metric = Metric::kNdcg;
  int k = 5;  // ignored for MRR
};
// "ndcg@5" (the default: graded, and sensitive to the order within the top k), "p@5", "r@10", "mrr",
// "shown@5" (shown_precision(): the objective for a minimum score, which can only lower the others).
Result<TuneObjective> parse_objective(std::string_view text);
std::string objective_name(const TuneObjective& objective);
double objective_value(const std::vector<QueryMetrics>& queries, const EvalSummary& summary,
                       const TuneObjective& objective);
// What a shopper sees in the top k, over every query: for a query with relevant products, the share of the
// products shown that are relevant (0 when none is shown); for one with nothing relevant in the catalog, 1
// when no product is shown, else 0.
double shown_precision(const std::vector<QueryMetrics>& queries, int k);

struct TuneQuery {
  Judgment judgment;
  std::vector<FusionCandidate> candidates;
  FusionParams params;  // as the search used them; the weights are replaced per set
};

std::vector<double> weight_grid(double current);
std::vector<double> min_score_grid(double current);
// Whether the mapping parser accepts these weights.
bool fusion_weights_valid(const FusionWeights& weights);

// The fused ranking of every query with these weights (and this min_score instead of each query's own),
// scored.
std::vector<QueryMetrics> score_with_weights(const std::vector<TuneQuery>& queries,
                                             const RelevanceUniverse& universe, const std::vector<int>& ks,
                                             const FusionWeights& weights,
                                             std::optional<double> min_score = std::nullopt);

struct TuneResult {
  FusionWeights before;
  FusionWeights best;
  EvalSummary before_summary;
  EvalSummary best_summary;
  double before_value = 0;
  double best_value = 0;
  std::optional<double> before_min_score;  // set when min_score was tuned
  std::optional<double> best_min_score;
  std::size_t evaluated = 0;  // sets tried
};
// `current_min_score`: when set, the fused min_score is tuned too, starting from this value.
TuneResult tune_fusion_weights(const std::vector<TuneQuery>& queries, const RelevanceUniverse& universe,
                               const std::vector<int>& ks, const TuneObjective& objective,
                               const FusionWeights& current,
                               std::optional<double> current_min_score = std::nullopt);

// The mapping file's JSON with its "weights" replaced by these, and min_score.fused by `fused_min_score`
// when given (every other field, and the order of the fields, kept): what --tune-out writes.
Result<std::string> mapping_with_weights(std::string_view mapping_json, const FusionWeights& weights,
                                         std::optional<double> fused_min_score = std::nullopt);

}  // namespace visearch::search
