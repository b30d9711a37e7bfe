#include "model/model_spec.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "model/model_repository.h"

namespace visearch {
namespace {

nlohmann::json minimal_spec() {
  return nlohmann::json::parse(R"({
    "name": "m", "family": "yolov8", "weights": {"file": "m.onnx"},
    "input": {"width": 64, "height": 32, "resize": "letterbox_centred", "channel_order": "bgr",
              "mean": [1, 2, 3], "std": [4, 5, 6], "pad_value": 114},
    "labels": ["a", "b"], "defaults": {"score_threshold": 0.25}
  })");
}

TEST(ModelSpec, ParsesAllPreprocessingFields) {
  auto spec = parse_model_spec(minimal_spec(), "mem");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->preprocess.size, (Size{64, 32}));
  EXPECT_EQ(spec->preprocess.resize, ResizeMode::kLetterboxCentred);
  EXPECT_EQ(spec->preprocess.channel_order, ChannelOrder::kBgr);
  EXPECT_EQ(spec->preprocess.pad_value, 114);
  EXPECT_FLOAT_EQ(spec->preprocess.mean[2], 3.F);
  EXPECT_FLOAT_EQ(spec->preprocess.std[0], 4.F);
  EXPECT_FLOAT_EQ(spec->defaults.score_threshold, 0.25F);
  EXPECT_FLOAT_EQ(spec->defaults.iou_threshold, 0.45F);
  EXPECT_EQ(spec->class_id_of("b"), 1);
  EXPECT_EQ(spec->class_id_of("zebra"), -1);
}

TEST(ModelSpec, ScaleIsTheInverseOfStd) {
  auto doc = minimal_spec();
  doc["input"].erase("std");
  doc["input"]["scale"] = 0.5;
  auto spec = parse_model_spec(doc, "mem");
  ASSERT_TRUE(spec);
  EXPECT_FLOAT_EQ(spec->preprocess.std[1], 2.F);
}

TEST(ModelSpec, RejectsMalformedSpecsWithTheFieldNamed) {
  struct Case {
    const char* field;
    nlohmann::json value;
    const char* expect;
  };
  const std::vector<Case> cases{
      {"name", nullptr, "name"},
      {"weights", 5, "weights"},
  };
  for (const Case& c : cases) {
    auto doc = minimal_spec();
    if (c.value.is_null()) {
      doc.erase(c.field);
    } else {
      doc[c.field] = c.value;
    }
    auto spec = parse_model_spec(doc, "bad.json");
    ASSERT_FALSE(spec) << c.field;
    EXPECT_EQ(spec.error().code, ErrorCode::kInvalidSpec);
    EXPECT_NE(spec.error().message.find(c.expect), std::string::npos) << spec.error().message;
    EXPECT_NE(spec.error().message.find("bad.json"), std::string::npos);
  }
  auto doc = minimal_spec();
  doc["input"]["resize"] = "crop";
  EXPECT_FALSE(parse_model_spec(doc, "x"));
  doc = minimal_spec();
  doc["input"]["width"] = -1;
  EXPECT_FALSE(parse_model_spec(doc, "x"));
  doc = minimal_spec();
  doc["input"]["std"] = {1, 0, 1};
  EXPECT_FALSE(parse_model_spec(doc, "x"));
  doc = minimal_spec();
  doc["input"]["width"] = "wide";
  EXPECT_FALSE(parse_model_spec(doc, "x"));
  doc = minimal_spec();
  doc["labels"] = nlohmann::json::array();
  EXPECT_FALSE(parse_model_spec(doc, "x"));
}

TEST(ModelSpec, EveryShippedSpecParses) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(VISEARCH_SPEC_DIR)) {
    if (entry.path().extension() != ".json") continue;
    auto spec = load_model_spec_file(entry.path().string());
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->name + ".json", entry.path().filename().string());
    EXPECT_FALSE(spec->weights.sha256.empty()) << spec->name << " ships without a checksum";
    ++count;
  }
  EXPECT_GE(count, 6);
}

}  // namespace
}  // namespace visearch
