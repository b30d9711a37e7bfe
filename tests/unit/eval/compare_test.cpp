#include <gtest/gtest.h>

#include "eval/compare.h"

namespace visearch::eval {
namespace {

std::vector<CompareRow> rows() {
  std::vector<CompareRow> r(4);
  r[0] = {"fast", "f", true, "", 0.20, 0.35, 0.2, 8.0, 90.0, 10, false};
  r[1] = {"accurate", "a", true, "", 0.41, 0.58, 0.4, 65.0, 14.0, 10, false};
  r[2] = {"dominated", "d", true, "", 0.19, 0.30, 0.2, 70.0, 12.0, 10, false};
  r[3] = {"missing<&>", "m", false, "weights not found", 0, 0, 0, 0, 0, 0, false};
  return r;
}

TEST(Compare, ParetoFrontKeepsModelsNobodyBeats) {
  auto r = rows();
  mark_pareto_front(r);
  EXPECT_TRUE(r[0].pareto);
  EXPECT_TRUE(r[1].pareto);
  EXPECT_FALSE(r[2].pareto);
  EXPECT_FALSE(r[3].pareto);
}

TEST(Compare, MarkdownSortsByApAndListsFailures) {
  auto r = rows();
  mark_pareto_front(r);
  const std::string md = compare_markdown(r, "data", "val");
  const auto accurate = md.find("| accurate |");
  const auto fast = md.find("| fast |");
  ASSERT_NE(accurate, std::string::npos);
  ASSERT_NE(fast, std::string::npos);
  EXPECT_LT(accurate, fast);
  EXPECT_NE(md.find("| 0.410 | 0.580 |"), std::string::npos);
  EXPECT_NE(md.find("not measured: weights not found"), std::string::npos);
}

TEST(Compare, SvgIsWellFormedAndEscaped) {
  auto r = rows();
  mark_pareto_front(r);
  const std::string svg = compare_svg(r, "AP vs latency <test>");
  EXPECT_EQ(svg.rfind("<svg", 0), 0U);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;test&gt;"), std::string::npos);
  EXPECT_NE(svg.find("missing&lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<&>"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);  // the frontier line through two models
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
}

TEST(Compare, JsonCarriesEveryModel) {
  const auto j = compare_json(rows(), "data", "val");
  ASSERT_EQ(j["models"].size(), 4U);
  EXPECT_EQ(j["models"][3]["error"], "weights not found");
  EXPECT_DOUBLE_EQ(j["models"][1]["AP"].get<double>(), 0.41);
}

}  // namespace
}  // namespace visearch::eval
