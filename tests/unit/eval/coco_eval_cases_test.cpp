// Hand-computed cases for each rule of the pycocotools algorithm that the fixture may not exercise.
#include <gtest/gtest.h>

#include "eval/coco_eval.h"

namespace visearch::eval {
namespace {

constexpr std::size_t kAP = 0;
constexpr std::size_t kAPs = 3;
constexpr std::size_t kAPm = 4;
constexpr std::size_t kAR1 = 6;
constexpr std::size_t kAR10 = 7;
constexpr std::size_t kAR100 = 8;

GroundTruthBox gt(std::int64_t id, std::int64_t image, double x, double y, double w, double h,
                  bool crowd = false) {
  GroundTruthBox g;
  g.id = id;
  g.image_id = image;
  g.category_id = 1;
  g.x = x;
  g.y = y;
  g.w = w;
  g.h = h;
  g.area = w * h;
  g.iscrowd = crowd;
  return g;
}

DetectionBox det(std::int64_t image, double x, double y, double w, double h, double score,
                 std::int64_t category = 1) {
  return DetectionBox{image, category, x, y, w, h, score};
}

EvalInput base(std::vector<std::int64_t> images) {
  EvalInput in;
  in.image_ids = std::move(images);
  in.categories = {{1, "thing"}};
  return in;
}

CocoMetrics run(const EvalInput& in) {
  auto m = evaluate_bbox(in);
  EXPECT_TRUE(m) << (m ? "" : m.error().message);
  return m ? *m : CocoMetrics{};
}

TEST(CocoEvalCases, PerfectDetectionScoresOne) {
  EvalInput in = base({1});
  in.ground_truth = {gt(1, 1, 10, 10, 50, 50)};
  in.detections = {det(1, 10, 10, 50, 50, 0.9)};
  const CocoMetrics m = run(in);
  EXPECT_DOUBLE_EQ(m.stats[kAP], 1.0);
  EXPECT_DOUBLE_EQ(m.stats[kAR1], 1.0);
  EXPECT_DOUBLE_EQ(m.stats[kAPm], 1.0);   // area 2500 is medium
  EXPECT_DOUBLE_EQ(m.stats[kAPs], -1.0);  // no small ground truth
  ASSERT_EQ(m.per_category.size(), 1U);
  EXPECT_DOUBLE_EQ(m.per_category[0].ap, 1.0);
}

TEST(CocoEvalCases, CrowdRegionAbsorbsAnyNumberOfDetections) {
  EvalInput in = base({1});
  in.ground_truth = {gt(1, 1, 0, 0, 10, 10), gt(2, 1, 20, 20, 100, 100, /*crowd=*/true)};
  // Two high-scoring detections inside the crowd: IoU with a crowd = intersection / detection area = 1.
  in.detections = {det(1, 30, 30, 10, 10, 0.95), det(1, 40, 40, 10, 10, 0.9), det(1, 0, 0, 10, 10, 0.8)};
  const CocoMetrics m = run(in);
  EXPECT_DOUBLE_EQ(m.stats[kAP], 1.0);  // as false positives they would cut AP to about 1/3
  EXPECT_EQ(m.per_category[0].ground_truth, 1U);
}

TEST(CocoEvalCases, IgnoredBoxMatchesOnceWithNormalIoU) {
  EvalInput in = base({1});
  GroundTruthBox ignored = gt(2, 1, 30, 30, 10, 10);
  ignored.ignore = true;
  in.ground_truth = {gt(1, 1, 0, 0, 10, 10), ignored};
  in.detections = {det(1, 30, 30, 10, 10, 0.95), det(1, 30, 30, 10, 10, 0.9), det(1, 0, 0, 10, 10, 0.8)};
  // Sorted: ignored match, false positive (the ignored box is taken), true positive -> precision 1/2.
  EXPECT_NEAR(run(in).stats[kAP], 0.5, 1e-12);
}

TEST(CocoEvalCases, AreaRangesSelectGroundTruthAndUnmatchedDetections) {
  EvalInput in = base({1});
  in.ground_truth = {gt(1, 1, 0, 0, 10, 10)};                                     // small
  in.detections = {det(1, 100, 100, 200, 200, 0.99), det(1, 0, 0, 10, 10, 0.5)};  // large FP, small TP
  const CocoMetrics m = run(in);
  EXPECT_DOUBLE_EQ(m.stats[kAPs], 1.0);  // the large unmatched detection is outside the small range: ignored
  EXPECT_DOUBLE_EQ(m.stats[kAPm], -1.0);
  EXPECT_NEAR(m.stats[kAP], 0.5, 1e-12);  // in "all" it is a false positive ranked first
}

TEST(CocoEvalCases, MaxDetsLimitsDetectionsPerImage) {
  EvalInput in = base({1});
  in.ground_truth = {gt(1, 1, 0, 0, 20, 20), gt(2, 1, 50, 50, 20, 20)};
  in.detections = {det(1, 0, 0, 20, 20, 0.9), det(1, 50, 50, 20, 20, 0.8)};
  const CocoMetrics m = run(in);
  EXPECT_DOUBLE_EQ(m.stats[kAR1], 0.5);
  EXPECT_DOUBLE_EQ(m.stats[kAR10], 1.0);
  EXPECT_DOUBLE_EQ(m.stats[kAR100], 1.0);
}

TEST(CocoEvalCases, ScoreTiesKeepInputOrderWithinAnImage) {
  EvalInput in = base({1});
  in.ground_truth = {gt(1, 1, 0, 0, 20, 20)};
  in.detections = {det(1, 100, 100, 20, 20, 0.5), det(1, 0, 0, 20, 20, 0.5)};  // FP first, then TP
  EXPECT_NEAR(run(in).stats[kAP], 0.5, 1e-12);
  std::swap(in.detections[0], in.detections[1]);  // TP first
  EXPECT_NEAR(run(in).stats[kAP], 1.0, 1e-12);
}

TEST(CocoEvalCases, ScoreTiesAcrossImagesFollowImageIdOrder) {
  EvalInput in = base({2, 1});
  in.ground_truth = {gt(1, 1, 0, 0, 20, 20), gt(2, 2, 0, 0, 20, 20)};
  // Listed image 2 (TP) first, but pycocotools concatenates per image in ascending id: image 1's FP first.
  in.detections = {det(2, 0, 0, 20, 20, 0.5), det(1, 100, 100, 20, 20, 0.5)};
  EXPECT_NEAR(run(in).stats[kAP], 51.0 * 0.5 / 101.0, 1e-12);
}

TEST(CocoEvalCases, GroundTruthIdZeroBehavesLikePycocotools) {
  EvalInput in = base({1});
  in.ground_truth = {gt(0, 1, 0, 0, 20, 20)};
  in.detections = {det(1, 0, 0, 20, 20, 0.9)};
  const CocoMetrics m = run(in);
  EXPECT_DOUBLE_EQ(m.stats[kAP], 0.0);
  ASSERT_EQ(m.warnings.size(), 1U);
}

TEST(CocoEvalCases, DetectionsOfUnknownCategoriesAreNotEvaluated) {
  EvalInput in = base({1});
  in.ground_truth = {gt(1, 1, 0, 0, 20, 20)};
  in.detections = {det(1, 100, 100, 20, 20, 0.99, /*category=*/7), det(1, 0, 0, 20, 20, 0.5)};
  const CocoMetrics m = run(in);
  EXPECT_DOUBLE_EQ(m.stats[kAP], 1.0);
  EXPECT_EQ(m.detections, 1U);
}

TEST(CocoEvalCases, DetectionOnUnknownImageIsAnError) {
  EvalInput in = base({1});
  in.ground_truth = {gt(1, 1, 0, 0, 20, 20)};
  in.detections = {det(5, 0, 0, 20, 20, 0.5)};
  auto m = evaluate_bbox(in);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(m.error().message.find("image id 5"), std::string::npos);
}

TEST(CocoEvalCases, CategoryWithoutGroundTruthIsLeftOutOfTheMean) {
  EvalInput in = base({1});
  in.categories.push_back({2, "other"});
  in.ground_truth = {gt(1, 1, 0, 0, 20, 20)};
  in.detections = {det(1, 0, 0, 20, 20, 0.9), det(1, 50, 50, 20, 20, 0.9, 2)};
  const CocoMetrics m = run(in);
  EXPECT_DOUBLE_EQ(m.stats[kAP], 1.0);
  ASSERT_EQ(m.per_category.size(), 2U);
  EXPECT_DOUBLE_EQ(m.per_category[1].ap, -1.0);
}

TEST(CocoEvalCases, EmptyInputGivesMinusOne) {
  EvalInput in = base({1});
  const CocoMetrics m = run(in);
  for (double s : m.stats) EXPECT_DOUBLE_EQ(s, -1.0);
}

}  // namespace
}  // namespace visearch::eval
