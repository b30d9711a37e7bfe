// The shipped label mapping covers every label of the default detector; parsing rules and errors.
#include <gtest/gtest.h>

#include <algorithm>

#include "model/model_spec.h"
#include "search/label_mapping.h"

namespace visearch::search {
namespace {

TEST(LabelMapping, ShippedMappingCoversTheDefaultDetector) {
  auto mapping = LabelMapping::load(default_label_mapping_path());
  ASSERT_TRUE(mapping) << mapping.error().message;
  auto spec = load_model_spec_file(std::string(VISEARCH_SOURCE_DIR) + "/models/picodet_s_416.json");
  ASSERT_TRUE(spec);
  for (const std::string& label : spec->labels) {
    const LabelTerms terms = mapping->terms(label);
    EXPECT_FALSE(terms.categories.empty()) << label;
    EXPECT_NE(std::find(terms.keywords.begin(), terms.keywords.end(), label), terms.keywords.end()) << label;
    EXPECT_FALSE(mapping->primary_category(label).empty()) << label;
  }
  EXPECT_EQ(mapping->size(), spec->labels.size());
  EXPECT_DOUBLE_EQ(mapping->weights().visual + mapping->weights().label, 1.0);
  const LabelTerms tv = mapping->terms("TV");
  EXPECT_NE(std::find(tv.keywords.begin(), tv.keywords.end(), "television"), tv.keywords.end());
}

TEST(LabelMapping, UnknownLabelsMapToThemselves) {
  auto mapping = LabelMapping::parse(R"({"version": 1, "labels": {}})", "inline");
  ASSERT_TRUE(mapping);
  const LabelTerms terms = mapping->terms("kettle");
  EXPECT_TRUE(terms.categories.empty());
  EXPECT_EQ(terms.keywords, std::vector<std::string>{"kettle"});
  EXPECT_TRUE(mapping->terms("").keywords.empty());
}

TEST(LabelMapping, MalformedFilesAreRefusedWithTheField) {
  const auto error_of = [](const std::string& text) {
    auto m = LabelMapping::parse(text, "m.json");
    return m ? std::string() : m.error().message;
  };
  EXPECT_NE(error_of("[1]").find("m.json"), std::string::npos);
  EXPECT_NE(error_of(R"({"version": 2, "labels": {}})").find("version"), std::string::npos);
  EXPECT_NE(
      error_of(R"({"version": 1, "labels": {"cup": {"categories": "Mugs"}}})").find("labels.cup.categories"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "weights": {"visual": 2}, "labels": {}})").find("weights.visual"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "weights": {"visual": 0, "label": 0}, "labels": {}})").find("weights"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "min_score": {"fused": 1.5}, "labels": {}})").find("min_score.fused"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "min_score": {"best": 0.2}, "labels": {}})").find("min_score.best"),
            std::string::npos);
  EXPECT_EQ(LabelMapping::load("/nonexistent/mapping.json").error().code, ErrorCode::kNotFound);
}

TEST(LabelMapping, MinimumScoresPerRanking) {
  auto m = LabelMapping::parse(R"({"version": 1, "min_score": {"fused": 0.3, "visual": 0.55}, "labels": {}})",
                               "m");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_DOUBLE_EQ(m->min_score("fused"), 0.3);
  EXPECT_DOUBLE_EQ(m->min_score("visual"), 0.55);
  EXPECT_DOUBLE_EQ(m->min_score("label"), 0.0);  // unset: everything with a label score is shown
}

}  // namespace
}  // namespace visearch::search
