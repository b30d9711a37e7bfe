#include <gtest/gtest.h>

#include "dataset/class_map.h"
#include "dataset/dataset.h"

namespace visearch::dataset {
namespace {

const std::vector<std::string> kCoco{"person", "airplane",     "motorcycle",   "couch",
                                     "tv",     "dining table", "potted plant", "dog"};
const std::vector<std::string> kVoc{"aeroplane",   "diningtable", "dog",       "motorbike", "person",
                                    "pottedplant", "sofa",        "tvmonitor", "unicorn"};

TEST(ClassMap, ShippedVocToCocoMapMatchesEveryVocClass) {
  auto map = load_default_class_map();
  ASSERT_TRUE(map) << map.error().message;
  ASSERT_FALSE(map->sources.empty()) << "data/class_maps is missing";
  const ClassMatch match = match_classes(kVoc, kCoco, *map);
  EXPECT_EQ(match.to_model, (std::vector<int>{1, 5, 7, 2, 0, 6, 3, 4, -1}));
  EXPECT_EQ(match.unmatched, (std::vector<std::string>{"unicorn"}));
  EXPECT_EQ(match.renamed.size(), 6U);
}

TEST(ClassMap, NormalisationAloneJoinsSpacingVariants) {
  const ClassMatch match = match_classes({"Dining_Table", "potted-plant", "aeroplane"}, kCoco, ClassMap{});
  EXPECT_EQ(match.to_model, (std::vector<int>{5, 6, -1}));
  EXPECT_EQ(normalize_class_name("Potted Plant"), "pottedplant");
}

TEST(ClassMap, PairsWorkInBothDirections) {
  auto map = parse_class_map(R"({"map": {"aeroplane": "airplane", "sofa": ["couch", "settee"]}})", "m.json");
  ASSERT_TRUE(map) << map.error().message;
  EXPECT_EQ(match_classes({"airplane"}, {"aeroplane"}, *map).to_model, (std::vector<int>{0}));
  EXPECT_EQ(match_classes({"settee"}, {"sofa"}, *map).to_model, (std::vector<int>{0}));
}

TEST(ClassMap, MalformedFilesAreErrors) {
  EXPECT_FALSE(parse_class_map("{\"map\": [1]}", "m.json"));
  EXPECT_FALSE(parse_class_map("{\"map\": {\"a\": 3}}", "m.json"));
  auto bad = parse_class_map("{\n\"map\": {\"a\": }\n}", "m.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("m.json:2:", 0), 0U) << bad.error().message;
  EXPECT_FALSE(load_class_map("/nonexistent/map.json"));
}

}  // namespace
}  // namespace visearch::dataset
