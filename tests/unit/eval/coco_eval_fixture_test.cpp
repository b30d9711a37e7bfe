// The evaluator against numbers computed by pycocotools (../shared/data/coco-eval-fixture) and by an
// independent re-implementation (../shared/data/voc2012-sample100, detections with other ids).
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <string>

#include "eval/coco_eval.h"
#include "eval/coco_files.h"

namespace visearch::eval {
namespace {

namespace fs = std::filesystem;

const std::string kShared = VISEARCH_SHARED_DIR;

void expect_stats(const CocoMetrics& m, const std::array<double, 12>& expected) {
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(m.stats[i], expected[i], 1e-6) << CocoMetrics::kNames[i];
  }
}

// Published by the upstream test as "obtained with coco's official implementation" (DATA.md).
constexpr std::array<double, 12> kPycocotools{0.503647, 0.696973, 0.571667, 0.593252, 0.557991, 0.489363,
                                              0.386813, 0.593680, 0.595353, 0.654764, 0.603130, 0.553744};

TEST(CocoEvalFixture, ReproducesPycocotoolsFromResultsList) {
  const std::string dir = kShared + "/data/coco-eval-fixture";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
  auto loaded = load_coco_evaluation(dir + "/gts/sampled_gts_bbox_area.json", dir + "/cocoapi_results.json");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->input.image_ids.size(), 100U);
  EXPECT_EQ(loaded->input.ground_truth.size(), 830U);
  EXPECT_EQ(loaded->input.detections.size(), 734U);
  auto metrics = evaluate_bbox(loaded->input);
  ASSERT_TRUE(metrics) << metrics.error().message;
  expect_stats(*metrics, kPycocotools);
  EXPECT_TRUE(metrics->warnings.empty());
}

TEST(CocoEvalFixture, ReproducesPycocotoolsFromInstancesStyleDetections) {
  const std::string dir = kShared + "/data/coco-eval-fixture";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
  auto loaded =
      load_coco_evaluation(dir + "/gts/sampled_gts_bbox_area.json", dir + "/dets/sampled_bbox_results.json");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->input.detections.size(), 734U);
  auto metrics = evaluate_bbox(loaded->input);
  ASSERT_TRUE(metrics) << metrics.error().message;
  expect_stats(*metrics, kPycocotools);
}

TEST(CocoEvalFixture, RemapsDetectionIdsByFileAndCategoryName) {
  const std::string dir = kShared + "/data/voc2012-sample100";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
  auto loaded = load_coco_evaluation(dir + "/gts/coco_format_v1/instances_default.json",
                                     dir + "/dets/coco_format/coco_dets.json");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->input.detections.size(), 452U);
  EXPECT_GT(loaded->detections_remapped, 400U);
  auto metrics = evaluate_bbox(loaded->input);
  ASSERT_TRUE(metrics) << metrics.error().message;
  // DATA.md "Reference numbers".
  expect_stats(*metrics, {0.346958, 0.610030, 0.353714, 0.075181, 0.339482, 0.497881, 0.373505, 0.520647,
                          0.522570, 0.158333, 0.446662, 0.580923});
}

TEST(CocoEvalParams, ThresholdsAreNumpyLinspace) {
  const CocoEvalParams p = default_params();
  ASSERT_EQ(p.iou_thresholds.size(), 10U);
  ASSERT_EQ(p.recall_thresholds.size(), 101U);
  EXPECT_EQ(p.iou_thresholds[0], 0.5);
  EXPECT_EQ(p.iou_thresholds[5], 0.75);  // summarize() selects AP75 by equality
  EXPECT_EQ(p.iou_thresholds[9], 0.95);
  // numpy gives 57 * 0.01 + 0.0 = 0.5700000000000001, not 0.57: a recall of 57/100 does not reach it.
  EXPECT_EQ(p.recall_thresholds[57], 57 * 0.01);
  EXPECT_GT(p.recall_thresholds[57], 57.0 / 100.0);
  EXPECT_EQ(p.recall_thresholds[100], 1.0);
}

}  // namespace
}  // namespace visearch::eval
