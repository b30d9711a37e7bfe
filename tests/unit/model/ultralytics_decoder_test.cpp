// YOLOv5 / YOLOv8 export layouts, with generated graphs whose outputs we
// control (tools/make_test_models.py). Checks the decode, the letterbox
// mapping back to the image, thresholds and both NMS modes end to end.
#include <gtest/gtest.h>

#include "families/all_families.h"
#include "model/detector.h"

namespace visearch {
namespace {

class UltralyticsDecoderTest : public ::testing::TestWithParam<std::string> {
 protected:
  static const FamilyRegistry& families() { return shipped_families(); }

  std::unique_ptr<Detector> load() {
    const std::string dir = std::string(VISEARCH_TEST_DATA_DIR) + "/models";
    const ModelRepository repo({dir}, {dir});
    auto spec = repo.find_spec(GetParam());
    EXPECT_TRUE(spec) << spec.error().message;
    auto det = Detector::load(*spec, repo, families(), RuntimeOptions{1, false});
    EXPECT_TRUE(det) << det.error().message;
    return det ? std::move(*det) : nullptr;
  }
};

TEST_P(UltralyticsDecoderTest, DecodesBoxesIntoOriginalImagePixels) {
  auto det = load();
  ASSERT_TRUE(det);
  // 64x32 image into a 32x32 letterbox (centred): r = 0.5, dy = 8.
  const Image image = Image::allocate(64, 32);
  auto out = det->detect(image, DetectOptions{});
  ASSERT_TRUE(out) << out.error().message;
  // Candidates over 0.3: A (class 1, .90/.855), B (class 1, .80/.76, overlaps A), C (class 0, .70/.665),
  // D (class 2, .60/.54). Class-aware NMS drops B only.
  ASSERT_EQ(out->detections.size(), 3U);
  const Detection& a = out->detections[0];
  EXPECT_EQ(a.class_id, 1);
  // (cx, cy, w, h) = (16, 16, 8, 8) -> input (12, 12, 20, 20) -> image ((12-0)/.5, (12-8)/.5, ...)
  EXPECT_NEAR(a.box.x1, 24.F, 1e-3);
  EXPECT_NEAR(a.box.y1, 8.F, 1e-3);
  EXPECT_NEAR(a.box.x2, 40.F, 1e-3);
  EXPECT_NEAR(a.box.y2, 24.F, 1e-3);
  EXPECT_EQ(out->detections[1].class_id, 0);
  const Detection& d = out->detections[2];
  EXPECT_EQ(d.class_id, 2);
  // (6, 20, 4, 6) -> input (4, 17, 8, 23) -> image (8, 18, 16, 30)
  EXPECT_NEAR(d.box.x1, 8.F, 1e-3);
  EXPECT_NEAR(d.box.y1, 18.F, 1e-3);
  EXPECT_NEAR(d.box.y2, 30.F, 1e-3);
}

TEST_P(UltralyticsDecoderTest, AgnosticNmsThresholdsAndClassFilter) {
  auto det = load();
  ASSERT_TRUE(det);
  const Image image = Image::allocate(32, 32);
  DetectOptions agnostic;
  agnostic.agnostic_nms = true;
  auto out = det->detect(image, agnostic);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->detections.size(), 2U);

  DetectOptions strict;
  strict.score_threshold = 0.85F;
  out = det->detect(image, strict);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->detections.size(), 1U);

  DetectOptions only_cups;
  auto ids = parse_class_list(det->spec(), "cup");
  ASSERT_TRUE(ids);
  only_cups.classes = *ids;
  out = det->detect(image, only_cups);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->detections.size(), 1U);
  EXPECT_EQ(out->detections[0].class_id, 2);

  EXPECT_FALSE(parse_class_list(det->spec(), "zebra"));
  DetectOptions bad;
  bad.score_threshold = 1.5F;
  EXPECT_FALSE(det->detect(image, bad));
}

INSTANTIATE_TEST_SUITE_P(Layouts, UltralyticsDecoderTest, ::testing::Values("yolov5_tiny", "yolov8_tiny"));

}  // namespace
}  // namespace visearch
