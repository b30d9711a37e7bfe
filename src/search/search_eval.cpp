#include "search/search_eval.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "search/label_mapping.h"

namespace visearch::search {
namespace {

Unexpected bad_line(std::size_t line, const std::string& what) {
  return Unexpected{ErrorCode::kInvalidArgument, "judgments line " + std::to_string(line) + ": " + what};
}

// {"a": 2, ...} or ["a", ...] (grade 1 each); grades are integers 0..3 (0 = listed but not relevant).
Result<std::map<std::string, int>> graded(const nlohmann::json& value, const char* field, std::size_t line,
                                          bool lower_keys) {
  std::map<std::string, int> out;
  auto put = [&](const std::string& key, int grade) -> Status {
    if (key.empty()) return bad_line(line, std::string(field) + " has an empty name");
    if (grade < 0 || grade > 3) return bad_line(line, std::string(field) + " grades must be 0..3");
    if (grade > 0) out[lower_keys ? to_lower_ascii(key) : key] = grade;
    return Ok{};
  };
  if (value.is_array()) {
    for (const auto& v : value) {
      if (!v.is_string()) return bad_line(line, std::string(field) + " must list strings");
      if (auto st = put(v.get<std::string>(), 1); !st) return st.error();
    }
  } else if (value.is_object()) {
    for (const auto& [key, v] : value.items()) {
      if (!v.is_number_integer()) return bad_line(line, std::string(field) + " grades must be integers");
      if (auto st = put(key, v.get<int>()); !st) return st.error();
    }
  } else {
    return bad_line(line, std::string(field) + " must be an object of grades or a list");
  }
  return out;
}

double discount(int rank) {  // rank is 1-based
  return 1.0 / std::log2(static_cast<double>(rank) + 1.0);
}

double gain(int grade) {
  return std::pow(2.0, grade) - 1.0;
}

}  // namespace

Result<std::vector<Judgment>> parse_judgments(std::string_view text, const std::string& base_dir,
                                              const JudgmentLimits& limits) {
  std::vector<Judgment> out;
  std::size_t start = 0;
  std::size_t line_no = 0;
  std::set<std::string> ids;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.size() > limits.max_line_bytes) return bad_line(line_no, "longer than the limit");
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())) != 0) line.remove_suffix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())) != 0)
      line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    if (out.size() >= limits.max_queries)
      return bad_line(line_no, "more than " + std::to_string(limits.max_queries) + " queries");
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad_line(line_no, "not a JSON object");
    Judgment q;
    q.id = "line " + std::to_string(line_no);
    if (auto it = j.find("id"); it != j.end()) {
      if (!it->is_string() || it->get<std::string>().empty()) return bad_line(line_no, "id must be a string");
      q.id = it->get<std::string>();
    }
    if (!ids.insert(q.id).second) return bad_line(line_no, "id '" + q.id + "' repeats an earlier query");
    auto image = j.find("image");
    if (image == j.end() || !image->is_string() || image->get<std::string>().empty())
      return bad_line(line_no, "image (a path) is required");
    const std::filesystem::path path(image->get<std::string>());
    q.image = path.is_absolute() || base_dir.empty() ? path.string()
                                                     : (std::filesystem::path(base_dir) / path).string();
    if (auto it = j.find("box"); it != j.end() && !it->is_null()) {
      if (!it->is_array() || it->size() != 4 ||
          !std::all_of(it->begin(), it->end(), [](const nlohmann::json& v) { return v.is_number(); }))
        return bad_line(line_no, "box must be [x1, y1, x2, y2]");
      ImageBox b{(*it)[0].get<float>(), (*it)[1].get<float>(), (*it)[2].get<float>(), (*it)[3].get<float>()};
      if (!std::isfinite(b.x1) || !std::isfinite(b.y1) || !std::isfinite(b.x2) || !std::isfinite(b.y2) ||
          !b.valid() || b.x1 < 0 || b.y1 < 0)
        return bad_line(line_no, "box must have x1 < x2, y1 < y2, inside the image");
      q.box = b;
    }
    if (auto it = j.find("products"); it != j.end()) {
      auto g = graded(*it, "products", line_no, false);
      if (!g) return g.error();
      q.products = std::move(*g);
    }
    if (auto it = j.find("categories"); it != j.end()) {
      auto g = graded(*it, "categories", line_no, true);
      if (!g) return g.error();
      q.categories = std::move(*g);
    }
    if (q.products.empty() && q.categories.empty())
      return bad_line(line_no, "names no relevant product or category (products / categories)");
    out.push_back(std::move(q));
  }
  if (out.empty()) return Unexpected{ErrorCode::kInvalidArgument, "the judgments file has no queries"};
  return out;
}

int grade_of(const Judgment& judgment, const std::string& product_id, const std::string& category) {
  int grade = 0;
  if (auto it = judgment.products.find(product_id); it != judgment.products.end()) grade = it->second;
  if (auto it = judgment.categories.find(to_lower_ascii(category)); it != judgment.categories.end())
    grade = std::max(grade, it->second);
  return grade;
}

QueryMetrics score_query(const Judgment& judgment, const std::vector<RankedProduct>& ranked,
                         const RelevanceUniverse& universe, const std::vector<int>& ks) {
  QueryMetrics m;
  m.id = judgment.id;
  // Every relevant product of the catalog with its grade: the ideal ranking.
  std::map<std::string, int> relevant;
  for (const auto& [id, grade] : judgment.products) {
    auto it = universe.category_of.find(id);
    if (it != universe.category_of.end()) relevant[id] = grade_of(judgment, id, it->second);
  }
  for (const auto& [category, grade] : judgment.categories) {
    auto it = universe.products_in.find(category);
    if (it == universe.products_in.end()) continue;
    for (const std::string& id : it->second) relevant[id] = std::max(relevant[id], grade);
  }
  m.relevant_in_catalog = static_cast<int>(relevant.size());
  std::vector<int> ideal;
  ideal.reserve(relevant.size());
  for (const auto& entry : relevant) ideal.push_back(entry.second);
  std::sort(ideal.begin(), ideal.end(), std::greater<>());

  std::vector<int> grades;
  grades.reserve(ranked.size());
  for (const RankedProduct& p : ranked) {
    grades.push_back(grade_of(judgment, p.id, p.category));
    m.top.emplace_back(p.score, grades.back());
  }
  const int longest = ks.empty() ? static_cast<int>(grades.size()) : ks.back();
  for (int r = 0; r < std::min<int>(longest, static_cast<int>(grades.size())); ++r) {
    if (grades[static_cast<std::size_t>(r)] > 0) {
      m.reciprocal_rank = 1.0 / (r + 1);
      break;
    }
  }
  for (int k : ks) {
    int hits = 0;
    double dcg = 0;
    double idcg = 0;
    for (int r = 0; r < k; ++r) {
      if (r < static_cast<int>(grades.size()) && grades[static_cast<std::size_t>(r)] > 0) {
        ++hits;
        dcg += gain(grades[static_cast<std::size_t>(r)]) * discount(r + 1);
      }
      if (r < static_cast<int>(ideal.size()))
        idcg += gain(ideal[static_cast<std::size_t>(r)]) * discount(r + 1);
    }
    m.precision[k] = static_cast<double>(hits) / k;
    m.recall[k] = relevant.empty() ? 0.0 : static_cast<double>(hits) / static_cast<double>(relevant.size());
    m.ndcg[k] = idcg > 0 ? dcg / idcg : 0.0;
  }
  return m;
}

EvalSummary summarize(const std::vector<QueryMetrics>& queries, const std::vector<int>& ks) {
  EvalSummary s;
  for (const QueryMetrics& q : queries) {
    if (q.object_found) {
      ++s.objects_judged;
      s.objects_found += *q.object_found ? 1 : 0;
    }
    if (q.relevant_in_catalog == 0) {
      ++s.without_relevant;
      continue;
    }
    ++s.queries;
    for (int k : ks) {
      s.precision[k] += q.precision.at(k);
      s.recall[k] += q.recall.at(k);
      s.ndcg[k] += q.ndcg.at(k);
    }
    s.mrr += q.reciprocal_rank;
  }
  if (s.queries > 0) {
    for (int k : ks) {
      s.precision[k] /= s.queries;
      s.recall[k] /= s.queries;
      s.ndcg[k] /= s.queries;
    }
    s.mrr /= s.queries;
  }
  return s;
}

std::vector<ThresholdPoint> sweep_min_score(const std::vector<QueryMetrics>& queries, int k,
                                            const std::vector<double>& thresholds) {
  std::vector<ThresholdPoint> out;
  for (double t : thresholds) {
    ThresholdPoint p;
    p.min_score = t;
    int positives = 0;
    int negatives = 0;
    int kept = 0;
    int relevant_kept = 0;
    for (const QueryMetrics& q : queries) {
      int kept_here = 0;
      for (std::size_t r = 0; r < q.top.size() && static_cast<int>(r) < k; ++r) {
        if (q.top[r].first < t) continue;
        ++kept_here;
        relevant_kept += q.top[r].second > 0 ? 1 : 0;
      }
      if (q.relevant_in_catalog > 0) {
        ++positives;
        p.answered += kept_here > 0 ? 1 : 0;
        kept += kept_here;
      } else {
        ++negatives;
        p.rejected += kept_here == 0 ? 1 : 0;
      }
    }
    p.answered = positives > 0 ? p.answered / positives : 0;
    p.rejected = negatives > 0 ? p.rejected / negatives : 0;
    p.precision_kept = kept > 0 ? static_cast<double>(relevant_kept) / kept : 0;
    out.push_back(p);
  }
  return out;
}

Result<std::vector<int>> parse_cutoffs(std::string_view text) {
  std::vector<int> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view part = text.substr(start, end - start);
    int k = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), k);
    if (ec != std::errc() || ptr != part.data() + part.size() || k < 1 || k > 100) {
      return Unexpected{ErrorCode::kInvalidArgument,
                        "--k takes cut-offs 1..100 separated by commas (got '" + std::string(text) + "')"};
    }
    out.push_back(k);
    start = end + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- --tune ----

Result<TuneObjective> parse_objective(std::string_view text) {
  const std::string t = to_lower_ascii(std::string(text));
  TuneObjective o;
  if (t == "mrr") {
    o.metric = TuneObjective::Metric::kMrr;
    o.k = 0;
    return o;
  }
  const std::size_t at = t.find('@');
  const std::string name = t.substr(0, at);
  if (at != std::string::npos) {
    const std::string_view k_text = std::string_view(t).substr(at + 1);
    auto [ptr, ec] = std::from_chars(k_text.data(), k_text.data() + k_text.size(), o.k);
    if (k_text.empty() || ec != std::errc() || ptr != k_text.data() + k_text.size() || o.k < 1 || o.k > 100) {
      o.k = -1;
    }
  }
  if (name == "ndcg") {
    o.metric = TuneObjective::Metric::kNdcg;
  } else if (name == "p" || name == "precision") {
    o.metric = TuneObjective::Metric::kPrecision;
  } else if (name == "r" || name == "recall") {
    o.metric = TuneObjective::Metric::kRecall;
  } else if (name == "shown") {
    o.metric = TuneObjective::Metric::kShown;
  } else {
    o.k = -1;
  }
  if (at == std::string::npos || o.k < 1) {
    return Unexpected{
        ErrorCode::kInvalidArgument,
        "--objective takes ndcg@K, p@K, r@K, shown@K (K in 1..100) or mrr (got '" + std::string(text) + "')"};
  }
  return o;
}

std::string objective_name(const TuneObjective& objective) {
  switch (objective.metric) {
    case TuneObjective::Metric::kNdcg:
      return "ndcg@" + std::to_string(objective.k);
    case TuneObjective::Metric::kPrecision:
      return "p@" + std::to_string(objective.k);
    case TuneObjective::Metric::kRecall:
      return "r@" + std::to_string(objective.k);
    case TuneObjective::Metric::kMrr:
      return "mrr";
    case TuneObjective::Metric::kShown:
      return "shown@" + std::to_string(objective.k);
  }
  return "mrr";
}

double shown_precision(const std::vector<QueryMetrics>& queries, int k) {
  if (queries.empty()) return 0;
  double sum = 0;
  for (const QueryMetrics& q : queries) {
    const std::size_t shown = std::min(q.top.size(), static_cast<std::size_t>(std::max(k, 0)));
    if (q.relevant_in_catalog == 0) {
      sum += shown == 0 ? 1.0 : 0.0;
      continue;
    }
    if (shown == 0) continue;
    std::size_t relevant = 0;
    for (std::size_t r = 0; r < shown; ++r) relevant += q.top[r].second > 0 ? 1 : 0;
    sum += static_cast<double>(relevant) / static_cast<double>(shown);
  }
  return sum / static_cast<double>(queries.size());
}

double objective_value(const std::vector<QueryMetrics>& queries, const EvalSummary& summary,
                       const TuneObjective& objective) {
  const auto at = [&](const std::map<int, double>& values) {
    auto it = values.find(objective.k);
    return it == values.end() ? 0.0 : it->second;
  };
  switch (objective.metric) {
    case TuneObjective::Metric::kNdcg:
      return at(summary.ndcg);
    case TuneObjective::Metric::kPrecision:
      return at(summary.precision);
    case TuneObjective::Metric::kRecall:
      return at(summary.recall);
    case TuneObjective::Metric::kMrr:
      return summary.mrr;
    case TuneObjective::Metric::kShown:
      return shown_precision(queries, objective.k);
  }
  return 0;
}

std::vector<double> weight_grid(double current) {
  std::vector<double> values;
  for (int i = 0; i <= 10; ++i) values.push_back(i / 10.0);
  if (std::none_of(values.begin(), values.end(), [&](double v) { return std::fabs(v - current) < 1e-12; }))
    values.push_back(current);
  std::sort(values.begin(), values.end());
  return values;
}

std::vector<double> min_score_grid(double current) {
  std::vector<double> values;
  for (int i = 0; i <= 18; ++i) values.push_back(i / 20.0);
  if (std::none_of(values.begin(), values.end(), [&](double v) { return std::fabs(v - current) < 1e-12; }))
    values.push_back(current);
  std::sort(values.begin(), values.end());
  return values;
}

bool fusion_weights_valid(const FusionWeights& weights) {
  nlohmann::json w = nlohmann::json::object();
  for (const FusionWeightField& f : kFusionWeightFields) w[f.name] = weights.*f.field;
  const nlohmann::json doc = {{"version", 1}, {"weights", w}, {"labels", nlohmann::json::object()}};
  return LabelMapping::parse(doc.dump(), "grid").has_value();
}

namespace {

// Each query's fused list with these weights, and this min_score instead of the query's own when given.
std::vector<std::vector<RankedProduct>> fused_lists(const std::vector<TuneQuery>& queries,
                                                    const RelevanceUniverse& universe,
                                                    const FusionWeights& weights,
                                                    std::optional<double> min_score) {
  std::vector<std::vector<RankedProduct>> lists;
  lists.reserve(queries.size());
  for (const TuneQuery& q : queries) {
    FusionParams params = q.params;
    params.weights = weights;
    if (min_score) params.min_score = *min_score;
    std::vector<RankedProduct>& ranked = lists.emplace_back();
    for (const FusedCandidate& f : fuse(q.candidates, params)) {
      const std::string& id = q.candidates[f.candidate].id;
      auto it = universe.category_of.find(id);
      ranked.push_back({id, it == universe.category_of.end() ? std::string() : it->second, f.score});
    }
  }
  return lists;
}

// The lists scored, keeping the products scoring at least `threshold`: the same as fusing with that
// min_score, since fuse() orders by score and keeps a prefix.
std::vector<QueryMetrics> score_lists(const std::vector<TuneQuery>& queries,
                                      const std::vector<std::vector<RankedProduct>>& lists,
                                      const RelevanceUniverse& universe, const std::vector<int>& ks,
                                      double threshold) {
  std::vector<QueryMetrics> out;
  out.reserve(queries.size());
  std::vector<RankedProduct> kept;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    kept.clear();
    for (const RankedProduct& p : lists[i]) {
      if (p.score >= threshold) kept.push_back(p);
    }
    out.push_back(score_query(queries[i].judgment, kept, universe, ks));
  }
  return out;
}

}  // namespace

std::vector<QueryMetrics> score_with_weights(const std::vector<TuneQuery>& queries,
                                             const RelevanceUniverse& universe, const std::vector<int>& ks,
                                             const FusionWeights& weights, std::optional<double> min_score) {
  return score_lists(queries, fused_lists(queries, universe, weights, min_score), universe, ks, 0.0);
}

namespace {

// True when some query's fused list can depend on this weight.
bool component_used(const std::vector<TuneQuery>& queries, double FusionWeights::*field) {
  return std::any_of(queries.begin(), queries.end(), [&](const TuneQuery& q) {
    const FusionParams& p = q.params;
    if (p.ranking != Ranking::kFused) return false;
    if (field == &FusionWeights::query) return p.use_query;
    if (field == &FusionWeights::colour) return p.use_colour;
    return p.use_visual || p.use_label || p.use_query || p.use_colour;  // visual and label: the base
  });
}

}  // namespace

TuneResult tune_fusion_weights(const std::vector<TuneQuery>& queries, const RelevanceUniverse& universe,
                               const std::vector<int>& ks, const TuneObjective& objective,
                               const FusionWeights& current, std::optional<double> current_min_score) {
  TuneResult result;
  result.before = current;
  result.before_min_score = current_min_score;
  {
    const auto metrics = score_with_weights(queries, universe, ks, current, current_min_score);
    result.before_summary = summarize(metrics, ks);
    result.before_value = objective_value(metrics, result.before_summary, objective);
  }
  result.best = current;
  result.best_min_score = current_min_score;
  result.best_summary = result.before_summary;
  result.best_value = result.before_value;
  double best_distance = 0;
  bool have_best = fusion_weights_valid(current);

  const auto consider = [&](const FusionWeights& w, std::optional<double> m, double distance,
                            const std::vector<QueryMetrics>& metrics) {
    ++result.evaluated;
    const EvalSummary summary = summarize(metrics, ks);
    const double value = objective_value(metrics, summary, objective);
    const bool better = !have_best || value > result.best_value + 1e-12 ||
                        (std::fabs(value - result.best_value) <= 1e-12 && distance < best_distance - 1e-12);
    if (!better) return;
    result.best = w;
    result.best_min_score = m;
    result.best_summary = summary;
    result.best_value = value;
    best_distance = distance;
    have_best = true;
  };

  std::vector<std::vector<double>> grids;
  for (const FusionWeightField& f : kFusionWeightFields) {
    // A weight of a component no query uses changes no list: it keeps its value (a quarter of the grid
    // per such weight).
    grids.push_back(component_used(queries, f.field) ? weight_grid(current.*f.field)
                                                     : std::vector<double>{current.*f.field});
  }
  const std::vector<double> thresholds =
      current_min_score ? min_score_grid(*current_min_score) : std::vector<double>{};
  std::vector<std::size_t> at(grids.size(), 0);
  while (true) {
    FusionWeights w = current;
    double distance = 0;
    for (std::size_t i = 0; i < grids.size(); ++i) {
      w.*kFusionWeightFields[i].field = grids[i][at[i]];
      distance += std::fabs(grids[i][at[i]] - current.*kFusionWeightFields[i].field);
    }
    if (fusion_weights_valid(w)) {
      if (current_min_score) {
        // One fusion per weight set; each threshold keeps a prefix of its lists.
        const auto lists = fused_lists(queries, universe, w, 0.0);
        for (double m : thresholds) {
          consider(w, m, distance + std::fabs(m - *current_min_score),
                   score_lists(queries, lists, universe, ks, m));
        }
      } else {
        consider(w, std::nullopt, distance, score_with_weights(queries, universe, ks, w));
      }
    }
    // Next set: the last field varies fastest.
    std::size_t i = grids.size();
    while (i > 0) {
      --i;
      if (++at[i] < grids[i].size()) break;
      at[i] = 0;
      if (i == 0) return result;
    }
    if (grids.empty()) return result;
  }
}

Result<std::string> mapping_with_weights(std::string_view mapping_json, const FusionWeights& weights,
                                         std::optional<double> fused_min_score) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(mapping_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return Unexpected{ErrorCode::kInvalidArgument, "the label mapping is not a JSON object"};
  nlohmann::ordered_json w = doc.contains("weights") && doc["weights"].is_object()
                                 ? doc["weights"]
                                 : nlohmann::ordered_json::object();
  for (const FusionWeightField& f : kFusionWeightFields) w[f.name] = weights.*f.field;
  if (doc.contains("weights")) {
    doc["weights"] = std::move(w);
  } else {
    // A new "weights" right after "version", where the shipped file has it.
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      out[it.key()] = it.value();
      if (it.key() == "version") out["weights"] = w;
    }
    if (!out.contains("weights")) out["weights"] = w;
    doc = std::move(out);
  }
  if (fused_min_score) {
    if (!doc.contains("min_score") || !doc["min_score"].is_object())
      doc["min_score"] = nlohmann::ordered_json::object();
    doc["min_score"]["fused"] = *fused_min_score;
  }
  std::string text = doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::strict);
  text.push_back('\n');
  auto check = LabelMapping::parse(text, "tuned mapping");
  if (!check) return check.error();
  return text;
}

}  // namespace visearch::search
