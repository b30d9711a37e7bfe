// GFL heads (PicoDet, NanoDet) with as many classes as box bins (32 = 4 x 8): the score and box outputs then
// have the same shape, so the spec must name the score outputs (a PicoDet trained on 32 classes does).
#include <gtest/gtest.h>

#include "families/all_families.h"
#include "model/model_repository.h"

namespace visearch {
namespace {

// One level of stride 8 on an 8x8 input: a single cell, anchor (4, 4).
ModelSpec spec_with(int classes) {
  ModelSpec spec;
  spec.name = "gfl32";
  spec.family = "picodet";
  spec.source_path = "gfl32.json";
  spec.preprocess.size = Size{8, 8};
  for (int i = 0; i < classes; ++i) spec.labels.push_back("c" + std::to_string(i));
  spec.decoder = {{"strides", {8}}, {"reg_max", 7}};
  return spec;
}

// Scores: class 5 at 0.9. Boxes: every side's distribution all on bin 1 -> distance 8 px on each side.
std::vector<Tensor> outputs(bool boxes_first) {
  Tensor scores{"scores", {1, 1, 32}, std::vector<float>(32, 0.F)};
  scores.data[5] = 0.9F;
  Tensor boxes{"boxes", {1, 1, 32}, std::vector<float>(32, -30.F)};
  for (int side = 0; side < 4; ++side) boxes.data[static_cast<std::size_t>(side * 8 + 1)] = 30.F;
  return boxes_first ? std::vector<Tensor>{boxes, scores} : std::vector<Tensor>{scores, boxes};
}

TEST(GflDecoderTest, ThirtyTwoClassesNeedNamedScoreOutputs) {
  FamilyRegistry families;
  register_all_families(families);
  const ModelRepository repo({}, {});
  const ModelSpec unnamed = spec_with(32);
  auto refused = families.create(DecoderContext{unnamed, repo});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("score_outputs"), std::string::npos) << refused.error().message;

  ModelSpec named = spec_with(32);
  named.decoder["score_outputs"] = {"scores"};
  auto decoder = families.create(DecoderContext{named, repo});
  ASSERT_TRUE(decoder) << decoder.error().message;
  for (bool boxes_first : {false, true}) {  // position does not matter, the name does
    DecodeParams params;
    params.score_threshold = 0.5F;
    params.input_size = Size{8, 8};
    auto cands = (*decoder)->decode(outputs(boxes_first), params);
    ASSERT_TRUE(cands) << cands.error().message;
    ASSERT_EQ(cands->size(), 1U);
    EXPECT_EQ((*cands)[0].class_id, 5);
    EXPECT_NEAR((*cands)[0].box.x1, 4.F - 8.F, 1e-3);
    EXPECT_NEAR((*cands)[0].box.x2, 4.F + 8.F, 1e-3);
  }
}

}  // namespace
}  // namespace visearch
