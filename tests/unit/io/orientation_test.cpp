// EXIF orientation: the pixel transforms, and JPEG files tagged 1..8 decode upright.
#include <gtest/gtest.h>

#include <vector>

#include "io/image_decode.h"
#include "io/orientation.h"
#include "support/image_fixtures.h"
#include "test_helpers.h"

namespace visearch {
namespace {

// A 3x2 image whose pixel (x, y) encodes its own coordinates.
Image coordinate_image() {
  Image img = Image::allocate(3, 2);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) {
      std::uint8_t* p = img.row(y) + x * 3;
      p[0] = static_cast<std::uint8_t>(x);
      p[1] = static_cast<std::uint8_t>(y);
      p[2] = 7;
    }
  }
  return img;
}

// Stored pixel (x, y) of a W x H image must appear at these displayed coordinates (EXIF 2.3 spec,
// tag 0x0112: 6 = "the 0th row is the visual right-hand side, the 0th column the visual top").
struct Where {
  int x;
  int y;
};
Where expected_position(int orientation, int x, int y, int w, int h) {
  switch (orientation) {
    case 2:
      return {w - 1 - x, y};
    case 3:
      return {w - 1 - x, h - 1 - y};
    case 4:
      return {x, h - 1 - y};
    case 5:
      return {y, x};
    case 6:
      return {h - 1 - y, x};
    case 7:
      return {h - 1 - y, w - 1 - x};
    case 8:
      return {y, w - 1 - x};
    default:
      return {x, y};
  }
}

TEST(ApplyExifOrientation, MatchesTheStandardMapping) {
  const Image stored = coordinate_image();
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const Image shown = apply_exif_orientation(stored, orientation);
    const bool swapped = orientation >= 5;
    ASSERT_EQ(shown.width, swapped ? 2 : 3) << orientation;
    ASSERT_EQ(shown.height, swapped ? 3 : 2) << orientation;
    for (int y = 0; y < 2; ++y) {
      for (int x = 0; x < 3; ++x) {
        const Where w = expected_position(orientation, x, y, 3, 2);
        const test::Rgb p = test::pixel_at(shown, w.x, w.y);
        EXPECT_EQ(p.r, x) << "orientation " << orientation;
        EXPECT_EQ(p.g, y) << "orientation " << orientation;
      }
    }
  }
}

TEST(ApplyExifOrientation, SixRotatesClockwise) {
  // Stored image: top row red, bottom row blue. Rotated 90 degrees clockwise for display, the top
  // row becomes the right-hand column.
  Image stored = test::make_solid_image(4, 2, test::Rgb{0, 0, 255});
  for (int x = 0; x < 4; ++x) {
    stored.row(0)[x * 3] = 255;
    stored.row(0)[x * 3 + 2] = 0;
  }
  const Image shown = apply_exif_orientation(stored, 6);
  ASSERT_EQ(shown.width, 2);
  ASSERT_EQ(shown.height, 4);
  EXPECT_EQ(test::pixel_at(shown, 1, 0).r, 255);  // right column red
  EXPECT_EQ(test::pixel_at(shown, 0, 0).b, 255);  // left column blue
  const Image ccw = apply_exif_orientation(stored, 8);
  EXPECT_EQ(test::pixel_at(ccw, 0, 3).r, 255);  // 8: top row becomes the left column
}

TEST(ApplyExifOrientation, InverseRoundTrips) {
  const Image img = test::make_gradient_image(7, 5);
  for (int orientation = 1; orientation <= 8; ++orientation) {
    EXPECT_EQ(
        test::max_abs_diff(to_stored_orientation(apply_exif_orientation(img, orientation), orientation), img),
        0)
        << orientation;
    EXPECT_EQ(
        test::max_abs_diff(apply_exif_orientation(to_stored_orientation(img, orientation), orientation), img),
        0)
        << orientation;
  }
}

TEST(ApplyExifOrientation, InvalidValuesAndEmptyImagesAreCopies) {
  const Image img = test::make_gradient_image(4, 3);
  for (const int bad : {0, 9, -1, 65535}) {
    EXPECT_EQ(test::max_abs_diff(apply_exif_orientation(img, bad), img), 0);
    EXPECT_EQ(test::max_abs_diff(to_stored_orientation(img, bad), img), 0);
  }
  EXPECT_TRUE(apply_exif_orientation(Image{}, 6).empty());
}

class JpegOrientationTest : public ::testing::TestWithParam<int> {};

TEST_P(JpegOrientationTest, DecodesUpright) {
  const int orientation = GetParam();
  const Image upright = test::make_quadrant_image(64, 32);
  for (const bool little_endian : {false, true}) {
    const std::vector<std::uint8_t> bytes =
        test::make_jpeg_with_orientation(upright, orientation, little_endian);
    const Result<DecodedImage> out = decode_image(bytes, DecodeLimits{});
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(out->exif_orientation, orientation);
    ASSERT_EQ(out->image.width, 64);
    ASSERT_EQ(out->image.height, 32);
    const bool swapped = orientation >= 5;
    EXPECT_EQ(out->encoded_width, swapped ? 32 : 64);
    EXPECT_EQ(out->encoded_height, swapped ? 64 : 32);
    EXPECT_LT(test::mean_abs_diff(out->image, upright), 3.0);
    EXPECT_LE(test::channel_distance(test::pixel_at(out->image, 16, 8), test::kQuadrantTopLeft), 8);
    EXPECT_LE(test::channel_distance(test::pixel_at(out->image, 48, 8), test::kQuadrantTopRight), 8);
    EXPECT_LE(test::channel_distance(test::pixel_at(out->image, 16, 24), test::kQuadrantBottomLeft), 8);
    EXPECT_LE(test::channel_distance(test::pixel_at(out->image, 48, 24), test::kQuadrantBottomRight), 8);
  }
}

INSTANTIATE_TEST_SUITE_P(AllOrientations, JpegOrientationTest, ::testing::Range(1, 9));

TEST(JpegOrientation, InvalidTagValueIsIgnored) {
  const Image upright = test::make_quadrant_image(32, 16);
  for (const int bad : {0, 9, 300}) {
    const std::vector<std::uint8_t> bytes =
        test::insert_jpeg_exif(test::make_jpeg(upright), test::make_exif_tiff(bad));
    const Result<DecodedImage> out = decode_image(bytes, DecodeLimits{});
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(out->exif_orientation, 1);
    EXPECT_EQ(out->image.width, 32);
  }
}

TEST(JpegOrientation, MalformedExifIsIgnored) {
  const Image upright = test::make_quadrant_image(32, 16);
  std::vector<std::uint8_t> tiff = test::make_exif_tiff(6);
  tiff[7] = 0xF0;  // IFD0 offset points past the end
  const Result<DecodedImage> out =
      decode_image(test::insert_jpeg_exif(test::make_jpeg(upright), tiff), DecodeLimits{});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->exif_orientation, 1);
  const Result<DecodedImage> garbage = decode_image(
      test::insert_jpeg_exif(test::make_jpeg(upright), std::vector<std::uint8_t>(40, 0xAB)), DecodeLimits{});
  ASSERT_TRUE(garbage) << garbage.error().message;
  EXPECT_EQ(garbage->exif_orientation, 1);
}

}  // namespace
}  // namespace visearch
