// Phone-size photos are decoded shrunk (JPEG DCT scaling) when only the model sees the pixels (issue 13):
// the sample photos scaled up to 12 megapixels (4032x3024), stored upright and with EXIF orientation 6, give
// every shipped detector the same objects, in full-resolution pixels, as decoding at full size does (each
// box matched at IoU >= 0.85, the median at >= 0.97; see jpeg.cpp for why not closer), and the decode itself
// really is reduced.
#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/model_repository.h"
#include "service/detect_service.h"
#include "support/image_fixtures.h"

namespace visearch {
namespace {

constexpr int kPhoneWidth = 4032;
constexpr int kPhoneHeight = 3024;

Image decode_sample(const std::string& name) {
  auto bytes = read_file_bytes(std::string(VISEARCH_SHARED_DIR) + "/data/samples/" + name, 1U << 26U);
  EXPECT_TRUE(bytes) << name;
  auto decoded = decode_image(*bytes, DecodeLimits{});
  EXPECT_TRUE(decoded) << name;
  return std::move(decoded->image);
}

// The photo enlarged (bicubic) to 4032x3024, the size of a 12-megapixel phone photo.
Image phone_size(const Image& photo) {
  Image big = Image::allocate(kPhoneWidth, kPhoneHeight);
  const cv::Mat src(photo.height, photo.width, CV_8UC3,
                    const_cast<std::uint8_t*>(photo.pixels.data()));  // NOLINT
  cv::Mat dst(big.height, big.width, CV_8UC3, big.pixels.data());
  cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_CUBIC);
  return big;
}

// Detects on each sample photo, enlarged to phone size and encoded by `encode` upright and with EXIF
// orientation 6, once decoded at full size and once shrunk while decoding, and compares the boxes.
void compare_shrunk_and_full_decodes(
    const std::string& model, const FamilyRegistry& families,
    const std::function<std::vector<std::uint8_t>(const Image&, int)>& encode) {
  const ModelRepository repository = ModelRepository::with_defaults({});
  auto spec = repository.find_spec(model);
  ASSERT_TRUE(spec) << spec.error().message;
  auto detector = Detector::load(*spec, repository, families, RuntimeOptions{});
  ASSERT_TRUE(detector) << detector.error().message;
  std::map<std::string, std::unique_ptr<Detector>> detectors;
  detectors.emplace(spec->name, std::move(*detector));
  const DetectService service(std::move(detectors), spec->name, DecodeLimits{});
  DetectRequest loose{spec->name, {}};
  loose.options.score_threshold = 0.2F;
  DetectRequest strict = loose;
  strict.options.score_threshold = 0.4F;

  std::vector<float> ious;  // per box of the full decode: the best same-class IoU in the shrunk decode's
  bool shrank = false;
  for (const char* name : {"dog.jpg", "bus.jpg", "000000000139.jpg"}) {
    const Image big = phone_size(decode_sample(name));
    for (const int orientation : {1, 6}) {
      const std::vector<std::uint8_t> encoded = encode(big, orientation);
      const auto bytes = std::span<const std::uint8_t>(encoded);
      Image full_pixels;
      auto full = service.detect(bytes, strict, &full_pixels);  // wants the pixels: decoded at full size
      ASSERT_TRUE(full) << full.error().message;
      ASSERT_EQ(full_pixels.width * full_pixels.height, kPhoneWidth * kPhoneHeight);
      auto shrunk = service.detect(bytes, loose);
      ASSERT_TRUE(shrunk) << shrunk.error().message;
      EXPECT_EQ(shrunk->image, full->image) << "the image size is reported at full resolution";
      EXPECT_EQ(full->decoded, full->image) << "asked for the pixels, decoded at full size";
      shrank = shrank || shrunk->decoded != shrunk->image;
      if (shrunk->decoded != shrunk->image) {  // 1/2, 1/4 or 1/8 of the full size, rounded up
        EXPECT_LT(shrunk->decoded.width, kPhoneWidth);
      }
      for (const Detection& want : full->detections) {
        float best = 0.F;
        for (const Detection& got : shrunk->detections) {
          if (got.class_id == want.class_id) best = std::max(best, iou(got.box, want.box));
        }
        ious.push_back(best);
        // A box in the wrong frame (not scaled back, or not turned) would overlap far less.
        EXPECT_GE(best, 0.85F) << model << " " << name << " orientation " << orientation << ": class "
                               << want.class_id << " score " << want.score << " box " << want.box.x1 << ","
                               << want.box.y1 << "," << want.box.x2 << "," << want.box.y2;
      }
    }
  }
  ASSERT_GE(ious.size(), 6U) << "too few boxes to compare";
  std::sort(ious.begin(), ious.end());
  const float median = ious[ious.size() / 2];
  EXPECT_GE(median, 0.97F) << model << ": median IoU against the full decode";
  std::printf("%s: %zu boxes, IoU against the full decode: min %.3f, median %.3f\n", model.c_str(),
              ious.size(), static_cast<double>(ious.front()), static_cast<double>(median));
  if (spec->preprocess.decode_shrink_headroom >= 1.F) {
    EXPECT_TRUE(shrank) << "no photo was decoded shrunk";
  } else {
    EXPECT_FALSE(shrank) << "the spec turns the shrink off, yet a photo was decoded shrunk";
  }
}

class PhonePhoto : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { register_all_families(families_); }
  static FamilyRegistry families_;
};
FamilyRegistry PhonePhoto::families_;

TEST_P(PhonePhoto, ShrunkDecodeGivesTheFullDecodesBoxesInFullResolutionPixels) {
  compare_shrunk_and_full_decodes(GetParam(), families_, [](const Image& big, int orientation) {
    return orientation == 1 ? test::make_jpeg(big, 92) : test::make_jpeg_with_orientation(big, orientation);
  });
}

// WebP: libwebp rescales while decoding (any factor, area averaging) to exactly the spec's headroom.
class PhonePhotoWebp : public PhonePhoto {};

TEST_P(PhonePhotoWebp, ShrunkDecodeGivesTheFullDecodesBoxesInFullResolutionPixels) {
  compare_shrunk_and_full_decodes(GetParam(), families_, [](const Image& big, int orientation) {
    return orientation == 1 ? test::make_webp(big, false, 90.0f)
                            : test::make_webp_with_orientation(big, orientation);
  });
}

INSTANTIATE_TEST_SUITE_P(ShrinkingDetectors, PhonePhotoWebp, ::testing::Values("picodet_s_416"),
                         [](const auto& param_info) { return param_info.param; });

INSTANTIATE_TEST_SUITE_P(ShippedDetectors, PhonePhoto,
                         ::testing::Values("picodet_s_416", "yolox_nano", "nanodet_m_416", "fastestdet",
                                           "ssd_mobilenet_v1_075", "picodet_s_320"),
                         [](const auto& param_info) { return param_info.param; });

// The decode itself: the smallest DCT scale that stays `shrink_headroom` (2) times larger than what the
// model's resize keeps of the upright image.
TEST(PhonePhotoDecode, TheScaleIsTheSmallestThatKeepsTheHeadroom) {
  const Image big = Image::allocate(kPhoneWidth, kPhoneHeight);
  const auto jpeg = test::make_jpeg(big, 80);
  // A 416x416 letterbox keeps 416x312 of it: 2x that is 832x624, so 1/4 (1008x756); 1/8 (504x378) is short.
  DecodeLimits letterbox;
  letterbox.shrink_target = {416, 416};
  letterbox.shrink_keep_aspect = true;
  auto decoded = decode_image(jpeg, letterbox);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->image.width, 1008);
  EXPECT_EQ(decoded->image.height, 756);
  EXPECT_EQ(decoded->full_size, (Size{kPhoneWidth, kPhoneHeight}));
  EXPECT_TRUE(decoded->shrunk());
  // Stretched to 416x416: 2x is 832 rows, more than 1/4 has (756): 1/2.
  DecodeLimits stretch = letterbox;
  stretch.shrink_keep_aspect = false;
  decoded = decode_image(jpeg, stretch);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->image.width, 2016);
  EXPECT_EQ(decoded->image.height, 1512);
  // Turned by EXIF orientation 6 the upright image is 3024x4032, and the target turns with it: 600x2000
  // upright needs 1/2 (1512x2016); measured on the stored sides it would have taken 1/4.
  const auto turned = test::make_jpeg_with_orientation(Image::allocate(kPhoneHeight, kPhoneWidth), 6);
  DecodeLimits tall;
  tall.shrink_target = {300, 1000};
  tall.shrink_keep_aspect = false;
  decoded = decode_image(turned, tall);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->image.width, 1512);
  EXPECT_EQ(decoded->image.height, 2016);
  EXPECT_EQ(decoded->full_size, (Size{kPhoneHeight, kPhoneWidth}));
  // Nothing asked, or headroom 0: full size. --max-pixels counts the full size.
  EXPECT_EQ(decode_image(jpeg, DecodeLimits{})->image.width, kPhoneWidth);
  DecodeLimits off = letterbox;
  off.shrink_headroom = 0.F;
  EXPECT_EQ(decode_image(jpeg, off)->image.width, kPhoneWidth);
  DecodeLimits capped = letterbox;
  capped.max_pixels = 10'000'000;
  const auto refused = decode_image(jpeg, capped);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kImageTooLarge);
}

}  // namespace
}  // namespace visearch
