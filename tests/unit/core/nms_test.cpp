#include <gtest/gtest.h>

#include "core/detection.h"

namespace visearch {
namespace {

Candidate cand(float x1, float y1, float x2, float y2, int cls, float score) {
  return Candidate{InputBox{x1, y1, x2, y2}, cls, score};
}

TEST(Iou, KnownValues) {
  EXPECT_FLOAT_EQ(iou(InputBox{0, 0, 10, 10}, InputBox{0, 0, 10, 10}), 1.F);
  EXPECT_FLOAT_EQ(iou(InputBox{0, 0, 10, 10}, InputBox{5, 0, 15, 10}), 50.F / 150.F);
  EXPECT_FLOAT_EQ(iou(InputBox{0, 0, 10, 10}, InputBox{20, 20, 30, 30}), 0.F);
  EXPECT_FLOAT_EQ(iou(InputBox{0, 0, 0, 0}, InputBox{0, 0, 0, 0}), 0.F);
}

TEST(Nms, ClassAwareKeepsOverlappingBoxesOfOtherClasses) {
  const std::vector<Candidate> in{cand(0, 0, 10, 10, 0, 0.9F), cand(1, 0, 11, 10, 0, 0.8F),
                                  cand(0, 1, 10, 11, 1, 0.7F)};
  const auto out = non_max_suppression(in, NmsOptions{0.45F, false, 100});
  ASSERT_EQ(out.size(), 2U);
  EXPECT_FLOAT_EQ(out[0].score, 0.9F);
  EXPECT_EQ(out[1].class_id, 1);
}

TEST(Nms, AgnosticKeepsOneBoxPerObject) {
  const std::vector<Candidate> in{cand(0, 1, 10, 11, 1, 0.7F), cand(0, 0, 10, 10, 0, 0.9F)};
  const auto out = non_max_suppression(in, NmsOptions{0.45F, true, 100});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].class_id, 0);
}

TEST(Nms, ThresholdIsStrict) {
  // IoU exactly 0.5 is kept at threshold 0.5 (suppress only when IoU > threshold).
  const std::vector<Candidate> in{cand(0, 0, 10, 10, 0, 0.9F), cand(0, 0, 10, 5, 0, 0.8F)};
  EXPECT_EQ(non_max_suppression(in, NmsOptions{0.5F, false, 100}).size(), 2U);
  EXPECT_EQ(non_max_suppression(in, NmsOptions{0.49F, false, 100}).size(), 1U);
}

TEST(Nms, MaxDetectionsKeepsTheBest) {
  std::vector<Candidate> in;
  for (int i = 0; i < 10; ++i) {
    const auto f = static_cast<float>(i);
    in.push_back(cand(20.F * f, 0, 20.F * f + 10, 10, 0, 0.1F * f));
  }
  const auto out = non_max_suppression(in, NmsOptions{0.45F, false, 3});
  ASSERT_EQ(out.size(), 3U);
  EXPECT_NEAR(out[0].score, 0.9F, 1e-6);
  EXPECT_NEAR(out[2].score, 0.7F, 1e-6);
}

}  // namespace
}  // namespace visearch
