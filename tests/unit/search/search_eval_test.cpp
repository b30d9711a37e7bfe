// search_eval: the judgments file's parser and the metrics on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "search/search_eval.h"

namespace visearch::search {
namespace {

TEST(SearchEvalTest, ParsesGradesListsBoxesAndRelativePaths) {
  auto q = parse_judgments(
      "# judgments\n"
      "{\"id\": \"a\", \"image\": \"photos/1.jpg\", \"box\": [1, 2, 30, 40], \"products\": {\"p1\": 3, "
      "\"p2\": 0}}\n"
      "\n"
      "{\"image\": \"/abs/2.jpg\", \"categories\": [\"Mugs & Cups\"]}\n",
      "/data/q");
  ASSERT_TRUE(q) << q.error().message;
  ASSERT_EQ(q->size(), 2U);
  EXPECT_EQ((*q)[0].id, "a");
  EXPECT_EQ((*q)[0].image, "/data/q/photos/1.jpg");
  ASSERT_TRUE((*q)[0].box);
  EXPECT_EQ((*q)[0].box->x2, 30.F);
  EXPECT_EQ((*q)[0].products, (std::map<std::string, int>{{"p1", 3}}));  // grade 0 = not relevant
  EXPECT_EQ((*q)[1].id, "line 4");
  EXPECT_EQ((*q)[1].image, "/abs/2.jpg");
  EXPECT_FALSE((*q)[1].box);
  EXPECT_EQ((*q)[1].categories, (std::map<std::string, int>{{"mugs & cups", 1}}));
}

TEST(SearchEvalTest, MalformedLinesAreErrorsNamingTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{not json", "line 1"},
      {"{\"categories\": [\"a\"]}", "image"},
      {"{\"image\": \"x\"}", "relevant"},
      {"{\"image\": \"x\", \"box\": [5, 5, 1, 1], \"categories\": [\"a\"]}", "box"},
      {"{\"image\": \"x\", \"box\": [1, 2, 3], \"categories\": [\"a\"]}", "box"},
      {"{\"image\": \"x\", \"products\": {\"a\": 7}}", "0..3"},
      {"{\"image\": \"x\", \"products\": {\"a\": \"high\"}}", "integers"},
      {"{\"image\": \"x\", \"products\": [1]}", "strings"},
      {"{\"id\": \"q\", \"image\": \"x\", \"products\": [\"a\"]}\n{\"id\": \"q\", \"image\": \"y\", "
       "\"products\": [\"a\"]}",
       "line 2"},
      {"# only a comment\n", "no queries"},
      {"[1, 2]", "object"},
  };
  for (const auto& [text, mention] : cases) {
    auto q = parse_judgments(text, "");
    ASSERT_FALSE(q) << text;
    EXPECT_EQ(q.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(q.error().message.find(mention), std::string::npos) << text << " -> " << q.error().message;
  }
  JudgmentLimits limits;
  limits.max_queries = 1;
  EXPECT_FALSE(parse_judgments(
      "{\"image\": \"x\", \"products\": [\"a\"]}\n{\"image\": \"y\", \"products\": [\"a\"]}", "", limits));
}

TEST(SearchEvalTest, MetricsOnAHandComputedRanking) {
  // Catalog: four mugs (m1..m4) and a sofa. Relevant: every mug (grade 1), m2 highly (grade 3).
  RelevanceUniverse u;
  for (const char* id : {"m1", "m2", "m3", "m4"}) {
    u.category_of[id] = "Mugs";
    u.products_in["mugs"].push_back(id);
  }
  u.category_of["s1"] = "Sofas";
  u.products_in["sofas"].push_back("s1");
  Judgment j;
  j.id = "q";
  j.categories = {{"mugs", 1}};
  j.products = {{"m2", 3}};
  const std::vector<RankedProduct> ranked{{"s1", "Sofas"}, {"m1", "Mugs"}, {"m2", "Mugs"}};
  const QueryMetrics m = score_query(j, ranked, u, {1, 3});
  EXPECT_EQ(m.relevant_in_catalog, 4);
  EXPECT_DOUBLE_EQ(m.precision.at(1), 0.0);
  EXPECT_DOUBLE_EQ(m.precision.at(3), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall.at(3), 0.5);
  EXPECT_DOUBLE_EQ(m.reciprocal_rank, 0.5);
  // DCG@3 = 0 + 1/log2(3) + 7/log2(4); ideal grades 3,1,1 -> 7 + 1/log2(3) + 1/2.
  const double dcg = 1.0 / std::log2(3.0) + 7.0 / 2.0;
  const double idcg = 7.0 + 1.0 / std::log2(3.0) + 0.5;
  EXPECT_NEAR(m.ndcg.at(3), dcg / idcg, 1e-12);
  EXPECT_DOUBLE_EQ(m.ndcg.at(1), 0.0);

  // Nothing relevant in the catalog: reported, left out of the means.
  Judgment none;
  none.id = "none";
  none.products = {{"gone", 1}};
  QueryMetrics n = score_query(none, ranked, u, {1, 3});
  EXPECT_EQ(n.relevant_in_catalog, 0);
  n.object_found = true;
  QueryMetrics with_box = m;
  with_box.object_found = false;
  const EvalSummary s = summarize({with_box, n}, {1, 3});
  EXPECT_EQ(s.queries, 1);
  EXPECT_EQ(s.without_relevant, 1);
  EXPECT_DOUBLE_EQ(s.precision.at(3), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.mrr, 0.5);
  EXPECT_EQ(s.objects_judged, 2);
  EXPECT_EQ(s.objects_found, 1);
}

TEST(SearchEvalTest, MinScoreSweep) {
  QueryMetrics pos;  // relevant products exist; ranked: 0.8 relevant, 0.4 not
  pos.relevant_in_catalog = 3;
  pos.top = {{0.8, 1}, {0.4, 0}};
  QueryMetrics neg;  // nothing relevant in the catalog; best match 0.35
  neg.top = {{0.35, 0}};
  const auto points = sweep_min_score({pos, neg}, 5, {0.0, 0.5, 0.9});
  ASSERT_EQ(points.size(), 3U);
  EXPECT_DOUBLE_EQ(points[0].answered, 1.0);
  EXPECT_DOUBLE_EQ(points[0].precision_kept, 0.5);
  EXPECT_DOUBLE_EQ(points[0].rejected, 0.0);
  EXPECT_DOUBLE_EQ(points[1].answered, 1.0);
  EXPECT_DOUBLE_EQ(points[1].precision_kept, 1.0);
  EXPECT_DOUBLE_EQ(points[1].rejected, 1.0);
  EXPECT_DOUBLE_EQ(points[2].answered, 0.0);
  EXPECT_DOUBLE_EQ(points[2].rejected, 1.0);
}

TEST(SearchEvalTest, Cutoffs) {
  auto k = parse_cutoffs("10,5,10");
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, (std::vector<int>{5, 10}));
  for (const char* bad : {"", "0", "5,", "a", "101", "5;10"}) EXPECT_FALSE(parse_cutoffs(bad)) << bad;
}

}  // namespace
}  // namespace visearch::search
