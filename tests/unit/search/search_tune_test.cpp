// search-eval --tune: the grid search over the fusion weights on hand-built candidates (the best weights
// worked out by hand), its determinism, the objective names, and the tuned mapping file.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "search/search_eval.h"

namespace visearch::search {
namespace {

FusionCandidate candidate(const std::string& id, double visual, bool in_category, double text_raw) {
  FusionCandidate c;
  c.id = id;
  c.visual = visual;
  c.in_label_category = in_category;
  c.text_raw = text_raw;
  return c;
}

TuneQuery query(const std::string& id, const std::string& relevant, std::vector<FusionCandidate> candidates) {
  TuneQuery q;
  q.judgment.id = id;
  q.judgment.products[relevant] = 1;
  q.candidates = std::move(candidates);
  q.params.ranking = Ranking::kFused;
  q.params.use_visual = true;
  q.params.use_label = true;
  q.params.best_text = 1.0;
  q.params.limit = 5;
  return q;
}

// Two kinds of query pull the weights apart:
//   q1, q3: relevant "a" (visual 0.9, label 0) against "b" (visual 0.35, label 1): a first iff
//           0.9 wv > 0.35 wv + wl, i.e. wl < 0.55 wv;
//   q2:     relevant "d" (visual 0.3, label 0.6: category only) against "c" (visual 0.8, label 0): d first
//   iff
//           0.3 wv + 0.6 wl > 0.8 wv, i.e. wl > 0.833 wv.
// No weights rank both first. MRR (top 5): 0.5 for a query whose relevant product is second.
//   before (0.5, 0.5): q1 0.5, q2 1, q3 0.5 -> 2/3
//   best: wl < 0.55 wv -> 1, 0.5, 1 -> 5/6. Nearest the current weights (L1): (0.5, 0.2) and (0.6, 0.3), both
//   0.3 away; the grid reaches (0.5, 0.2) first. `query` changes nothing (no shopper words): it stays 0.5.
std::vector<TuneQuery> pulled_apart() {
  return {query("q1", "a", {candidate("a", 0.9, false, 0), candidate("b", 0.35, true, 1.0)}),
          query("q2", "d", {candidate("c", 0.8, false, 0), candidate("d", 0.3, true, 0)}),
          query("q3", "a", {candidate("a", 0.9, false, 0), candidate("b", 0.35, true, 1.0)})};
}

RelevanceUniverse universe() {
  RelevanceUniverse u;
  for (const char* id : {"a", "b", "c", "d"}) {
    u.category_of[id] = "things";
    u.products_in["things"].push_back(id);
  }
  return u;
}

TEST(SearchTuneTest, BestWeightsAreTheHandComputedOnes) {
  auto objective = parse_objective("mrr");
  ASSERT_TRUE(objective);
  const TuneResult r = tune_fusion_weights(pulled_apart(), universe(), {5}, *objective, FusionWeights{});
  EXPECT_NEAR(r.before_value, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.best_value, 5.0 / 6.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.best.visual, 0.5);
  EXPECT_DOUBLE_EQ(r.best.label, 0.2);
  EXPECT_DOUBLE_EQ(r.best.query, 0.5);
  EXPECT_DOUBLE_EQ(r.before.label, 0.5);
  EXPECT_NEAR(r.best_summary.precision.at(5), 0.2, 1e-12);  // one relevant product in the top 5 each
  // 11 values per weight of the parts these queries use (visual, label: no shopper words, no colours),
  // less the set with visual = label = 0 that the mapping refuses.
  EXPECT_EQ(r.evaluated, 11U * 11U - 1U);
}

TEST(SearchTuneTest, CurrentWeightsStayWhenNothingIsBetter) {
  // Only q2: the current (0.5, 0.5) already ranks d first; an equal objective never moves the weights.
  const std::vector<TuneQuery> one{pulled_apart()[1]};
  FusionWeights current;
  current.visual = 0.45;  // off the grid: the grid gains this value
  current.label = 0.55;
  const TuneResult r = tune_fusion_weights(one, universe(), {5}, *parse_objective("ndcg@5"), current);
  EXPECT_DOUBLE_EQ(r.best.visual, 0.45);
  EXPECT_DOUBLE_EQ(r.best.label, 0.55);
  EXPECT_DOUBLE_EQ(r.best_value, 1.0);
  EXPECT_EQ(r.evaluated, 12U * 12U - 1U);
}

TEST(SearchTuneTest, TheColourWeightIsTunedWhenQueriesHaveColours) {
  // Two products alike in visual and label; the relevant one has the query's colour (0.9 against 0.1).
  // Without colour the tie breaks on the id and "a" (wrong) leads: MRR 0.5. Any colour weight > 0 puts "b"
  // first (MRR 1); from a current colour weight of 0 the nearest such set is 0.1, visual and label kept.
  FusionCandidate a = candidate("a", 0.7, true, 0);
  FusionCandidate b = candidate("b", 0.7, true, 0);
  a.colour = 0.1;
  b.colour = 0.9;
  TuneQuery q = query("q", "b", {a, b});
  q.params.use_colour = true;
  FusionWeights current;
  current.colour = 0;
  const TuneResult r = tune_fusion_weights({q}, universe(), {5}, *parse_objective("mrr"), current);
  EXPECT_NEAR(r.before_value, 0.5, 1e-12);
  EXPECT_NEAR(r.best_value, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.best.colour, 0.1);
  EXPECT_DOUBLE_EQ(r.best.visual, 0.5);
  EXPECT_DOUBLE_EQ(r.best.label, 0.5);
  EXPECT_EQ(r.evaluated, 11U * 11U * 11U - 11U);  // visual x label x colour
}

TEST(SearchTuneTest, DeterministicRunToRun) {
  const auto objective = *parse_objective("p@1");
  const TuneResult a = tune_fusion_weights(pulled_apart(), universe(), {1, 5}, objective, FusionWeights{});
  const TuneResult b = tune_fusion_weights(pulled_apart(), universe(), {1, 5}, objective, FusionWeights{});
  for (const FusionWeightField& f : kFusionWeightFields)
    EXPECT_EQ(a.best.*f.field, b.best.*f.field) << f.name;
  EXPECT_EQ(a.best_value, b.best_value);
  EXPECT_EQ(a.evaluated, b.evaluated);
  EXPECT_NEAR(a.best_value, 2.0 / 3.0, 1e-12);
}

TEST(SearchTuneTest, MinScoreIsTunedForWhatShoppersSee) {
  // Visual scores only (no label): fused = visual * w_visual / (w_visual + w_label), 0.5 of it at the current
  // (0.5, 0.5). q1: the relevant a (0.9 -> 0.45) and b (0.35 -> 0.175); a negative query (nothing relevant in
  // the catalog): c (0.3 -> 0.15).
  //   before, min_score 0: q1 shows a and b (1/2), the negative shows c (0): shown@5 = 0.25.
  //   best: q1 shows a alone and the negative nothing: 1, with min_score in (0.175, 0.45] at these weights;
  //   the nearest is min_score 0.2 (0.2 away). Other weights scale every score and cost at least 0.1 more
  //   (hiding b below 0.15 needs w_label >= 0.7).
  std::vector<TuneQuery> queries = {
      query("q1", "a", {candidate("a", 0.9, false, 0), candidate("b", 0.35, false, 0)}),
      query("neg", "gone", {candidate("c", 0.3, false, 0)})};
  for (TuneQuery& q : queries) q.params.use_label = false;
  const auto objective = *parse_objective("shown@5");
  const TuneResult r = tune_fusion_weights(queries, universe(), {5}, objective, FusionWeights{}, 0.0);
  EXPECT_NEAR(r.before_value, 0.25, 1e-12);
  EXPECT_NEAR(r.best_value, 1.0, 1e-12);
  ASSERT_TRUE(r.before_min_score && r.best_min_score);
  EXPECT_DOUBLE_EQ(*r.before_min_score, 0.0);
  EXPECT_DOUBLE_EQ(*r.best_min_score, 0.2);
  EXPECT_DOUBLE_EQ(r.best.visual, 0.5);
  EXPECT_DOUBLE_EQ(r.best.label, 0.5);
  EXPECT_EQ(r.evaluated, (11U * 11U - 1U) * 19U);
  // Without min_score no weights hide c, nor b: 0.25 stays, with the current weights.
  const TuneResult fixed = tune_fusion_weights(queries, universe(), {5}, objective, FusionWeights{});
  EXPECT_FALSE(fixed.best_min_score);
  EXPECT_NEAR(fixed.best_value, 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(fixed.best.label, 0.5);
  // Re-fusing with the found min_score gives what the grid measured.
  const auto metrics = score_with_weights(queries, universe(), {5}, r.best, r.best_min_score);
  EXPECT_NEAR(shown_precision(metrics, 5), 1.0, 1e-12);
}

TEST(SearchTuneTest, ObjectiveNames) {
  for (const char* name : {"ndcg@5", "p@10", "r@1", "shown@5", "mrr"}) {
    auto o = parse_objective(name);
    ASSERT_TRUE(o) << name;
    EXPECT_EQ(objective_name(*o), name);
  }
  EXPECT_EQ(objective_name(*parse_objective("NDCG@3")), "ndcg@3");
  for (const char* bad : {"", "ndcg", "ndcg@0", "ndcg@101", "p@x", "f1@5", "mrr@5"})
    EXPECT_FALSE(parse_objective(bad)) << bad;
}

TEST(SearchTuneTest, TunedMappingLoadsWithItsLabelsAndOtherFields) {
  std::ifstream in(default_label_mapping_path());
  std::stringstream text;
  text << in.rdbuf();
  auto original = LabelMapping::parse(text.str(), "shipped");
  ASSERT_TRUE(original) << original.error().message;
  FusionWeights w;
  w.visual = 0.7;
  w.label = 0.2;
  w.query = 0.1;
  auto written = mapping_with_weights(text.str(), w);
  ASSERT_TRUE(written) << written.error().message;
  auto tuned = LabelMapping::parse(*written, "tuned");
  ASSERT_TRUE(tuned) << tuned.error().message;
  EXPECT_DOUBLE_EQ(tuned->weights().visual, 0.7);
  EXPECT_DOUBLE_EQ(tuned->weights().label, 0.2);
  EXPECT_DOUBLE_EQ(tuned->weights().query, 0.1);
  EXPECT_EQ(tuned->size(), original->size());
  EXPECT_EQ(tuned->labels().size(), original->labels().size());
  for (const auto& [label, terms] : original->labels()) {
    EXPECT_EQ(tuned->terms(label).categories, terms.categories) << label;
    EXPECT_EQ(tuned->terms(label).keywords, terms.keywords) << label;
  }
  for (const char* ranking : {"fused", "visual", "label"})
    EXPECT_DOUBLE_EQ(tuned->min_score(ranking), original->min_score(ranking)) << ranking;
  // The other fields stay, in their order; "weights" is added after "version" when the file had none.
  EXPECT_NE(written->find("min_score_note"), std::string::npos);
  auto added = mapping_with_weights(R"({"version": 1, "labels": {"cup": {"categories": ["Mugs"]}}})", w);
  ASSERT_TRUE(added);
  EXPECT_LT(added->find("\"weights\""), added->find("\"labels\""));
  EXPECT_TRUE(LabelMapping::parse(*added, "added"));
  EXPECT_FALSE(mapping_with_weights("[]", w));
  auto with_threshold = mapping_with_weights(text.str(), w, 0.45);
  ASSERT_TRUE(with_threshold);
  auto thresholded = LabelMapping::parse(*with_threshold, "thresholded");
  ASSERT_TRUE(thresholded);
  EXPECT_DOUBLE_EQ(thresholded->min_score("fused"), 0.45);
  EXPECT_DOUBLE_EQ(thresholded->min_score("visual"), original->min_score("visual"));
}

}  // namespace
}  // namespace visearch::search
