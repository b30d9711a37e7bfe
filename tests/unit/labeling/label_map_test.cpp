// Label mapping files: detector labels -> data-set classes.
#include <gtest/gtest.h>

#include "labeling/label_map.h"

#include <filesystem>

#include "model/model_repository.h"

namespace visearch::labeling {
namespace {

const std::vector<std::string> kModel{"person",   "bottle",   "cup",         "handbag",
                                      "backpack", "airplane", "dining table"};

TEST(LabelMap, SameNamesMatchWithoutAFile) {
  auto mapping = LabelMapping::build("m", kModel, {"Bottle", "diningtable", "aeroplane", "shoe"}, nullptr);
  ASSERT_TRUE(mapping) << mapping.error().message;
  EXPECT_EQ(mapping->to_class(1), 0);  // bottle == Bottle
  EXPECT_EQ(mapping->to_class(6), 1);  // dining table == diningtable
  EXPECT_EQ(mapping->to_class(5), 2);  // airplane <-> aeroplane (shipped synonyms)
  EXPECT_EQ(mapping->to_class(0), -1);
  EXPECT_EQ(mapping->to_class(99), -1);
  EXPECT_EQ(mapping->mapped_labels(), 3U);
  const auto json = mapping->to_json({"Bottle", "diningtable", "aeroplane", "shoe"});
  EXPECT_EQ(json["classes_without_label"], nlohmann::json::array({"shoe"}));
}

TEST(LabelMap, FileMapsManyLabelsToOneClassAndDropsWithNull) {
  auto file = parse_label_map(R"({"classes": ["bottle", "mug", "bag"],
                                  "map": {"cup": "mug", "handbag": "bag", "backpack": "bag", "bottle": null}})",
                              "map.json");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->classes, (std::vector<std::string>{"bottle", "mug", "bag"}));
  auto mapping = LabelMapping::build("m", kModel, file->classes, &*file);
  ASSERT_TRUE(mapping) << mapping.error().message;
  EXPECT_EQ(mapping->to_class(2), 1);
  EXPECT_EQ(mapping->to_class(3), 2);
  EXPECT_EQ(mapping->to_class(4), 2);
  EXPECT_EQ(mapping->to_class(1), -1);  // null beats the same-name match
}

TEST(LabelMap, SameNamesFalseUsesOnlyTheMap) {
  auto file = parse_label_map(R"({"map": {"cup": "mug"}, "same_names": false})", "map.json");
  ASSERT_TRUE(file);
  auto mapping = LabelMapping::build("m", kModel, {"bottle", "mug"}, &*file);
  ASSERT_TRUE(mapping);
  EXPECT_EQ(mapping->to_class(1), -1);
  EXPECT_EQ(mapping->to_class(2), 1);
}

TEST(LabelMap, RefusesUnknownLabelsAndClasses) {
  auto file = parse_label_map(R"({"map": {"cupp": "mug"}})", "map.json");
  ASSERT_TRUE(file);
  auto mapping = LabelMapping::build("picodet", kModel, {"mug"}, &*file);
  ASSERT_FALSE(mapping);
  EXPECT_EQ(
      mapping.error().message,
      "map.json: map key 'cupp' is not a label of model picodet (see `visearch models` for its labels)");
  auto other = parse_label_map(R"({"map": {"cup": "teapot"}})", "map.json");
  ASSERT_TRUE(other);
  auto refused = LabelMapping::build("picodet", kModel, {"mug"}, &*other);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("'teapot' is not a class of the data set"), std::string::npos);
}

TEST(LabelMap, RefusesMalformedFiles) {
  for (const char* text :
       {"{", "[]", R"({"map": []})", R"({"map": {"cup": 3}})", R"({"map": {}, "classes": "a"})",
        R"({"map": {}, "classes": ["a", "a"]})", R"({"map": {}, "same_names": "yes"})"}) {
    auto file = parse_label_map(text, "bad.json");
    ASSERT_FALSE(file) << text;
    EXPECT_EQ(file.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(file.error().message.rfind("bad.json: ", 0), 0U) << file.error().message;
  }
  auto missing = load_label_map("/nonexistent/map.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(LabelMap, ShippedMapsFitTheDefaultDetector) {
  const ModelRepository repository = ModelRepository::with_defaults({});
  auto spec = repository.find_spec("picodet_s_416");
  ASSERT_TRUE(spec) << spec.error().message;
  std::size_t maps = 0;
  for (const auto& entry : std::filesystem::directory_iterator(VISEARCH_LABEL_MAPS_DIR)) {
    if (entry.path().extension() != ".json") continue;
    auto file = load_label_map(entry.path().string());
    ASSERT_TRUE(file) << file.error().message;
    ASSERT_FALSE(file->classes.empty()) << entry.path();
    auto mapping = LabelMapping::build(spec->name, spec->labels, file->classes, &*file);
    ASSERT_TRUE(mapping) << mapping.error().message;
    EXPECT_EQ(mapping->to_json(file->classes)["classes_without_label"], nlohmann::json::array())
        << entry.path();
    ++maps;
  }
  EXPECT_GE(maps, 2U);
}

}  // namespace
}  // namespace visearch::labeling
