// Each supported format and variant decodes to the right size and approximately the right pixels.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "io/image_decode.h"
#include "support/image_fixtures.h"
#include "test_helpers.h"

namespace visearch {
namespace {

using test::Rgb;

DecodedImage decode_ok(const std::vector<std::uint8_t>& bytes) {
  Result<DecodedImage> result = decode_image(bytes, DecodeLimits{});
  if (!result) {
    ADD_FAILURE() << "decode failed: " << result.error().message;
    return {};
  }
  return std::move(result).value();
}

std::vector<std::uint8_t> first_half_of(const std::vector<std::uint8_t>& bytes) {
  return {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2)};
}

// Expected value of colour c composited over white with alpha a.
std::uint8_t over_white(std::uint8_t c, std::uint8_t a) {
  return static_cast<std::uint8_t>((c * a + 255 * (255 - a) + 127) / 255);
}

void expect_quadrants(const Image& img, int tolerance) {
  const int w = img.width;
  const int h = img.height;
  EXPECT_LE(test::channel_distance(test::pixel_at(img, w / 4, h / 4), test::kQuadrantTopLeft), tolerance);
  EXPECT_LE(test::channel_distance(test::pixel_at(img, 3 * w / 4, h / 4), test::kQuadrantTopRight),
            tolerance);
  EXPECT_LE(test::channel_distance(test::pixel_at(img, w / 4, 3 * h / 4), test::kQuadrantBottomLeft),
            tolerance);
  EXPECT_LE(test::channel_distance(test::pixel_at(img, 3 * w / 4, 3 * h / 4), test::kQuadrantBottomRight),
            tolerance);
}

// --- JPEG ----------------------------------------------------------------------------------------

TEST(DecodeJpeg, BaselineColour) {
  const Image src = test::make_gradient_image(64, 48);
  const DecodedImage out = decode_ok(test::make_jpeg(src, 95));
  EXPECT_EQ(out.format, ImageFormat::kJpeg);
  EXPECT_EQ(out.image.width, 64);
  EXPECT_EQ(out.image.height, 48);
  EXPECT_EQ(out.encoded_width, 64);
  EXPECT_EQ(out.encoded_height, 48);
  EXPECT_EQ(out.exif_orientation, 1);
  EXPECT_EQ(out.image.pixels.size(), 64u * 48u * 3u);
  EXPECT_LT(test::mean_abs_diff(out.image, src), 2.5);
}

TEST(DecodeJpeg, Subsampled420AndOddSize) {
  const Image src = test::make_gradient_image(37, 23);
  const DecodedImage out = decode_ok(test::make_jpeg(src, 95, false, /*subsampled=*/true));
  EXPECT_EQ(out.image.width, 37);
  EXPECT_EQ(out.image.height, 23);
  EXPECT_LT(test::mean_abs_diff(out.image, src), 3.0);
}

TEST(DecodeJpeg, Progressive) {
  const Image src = test::make_quadrant_image(64, 64);
  const std::vector<std::uint8_t> bytes = test::make_jpeg(src, 95, /*progressive=*/true);
  const DecodedImage out = decode_ok(bytes);
  EXPECT_EQ(out.image.width, 64);
  EXPECT_EQ(out.image.height, 64);
  EXPECT_LT(test::mean_abs_diff(out.image, src), 2.5);
  expect_quadrants(out.image, 6);
}

TEST(DecodeJpeg, GreyscaleBecomesGreyRgb) {
  const Image src = test::make_quadrant_image(32, 32);
  const DecodedImage out = decode_ok(test::make_grey_jpeg(src, 95));
  ASSERT_EQ(out.image.width, 32);
  ASSERT_EQ(out.image.height, 32);
  for (int y = 0; y < 32; y += 5) {
    for (int x = 0; x < 32; x += 5) {
      const Rgb p = test::pixel_at(out.image, x, y);
      EXPECT_EQ(p.r, p.g);
      EXPECT_EQ(p.g, p.b);
      EXPECT_NEAR(p.r, test::luma(test::pixel_at(src, x, y)), 4) << x << "," << y;
    }
  }
}

TEST(DecodeJpeg, AdobeCmyk) {
  const Image src = test::make_quadrant_image(32, 32);
  const std::vector<std::uint8_t> bytes = test::make_cmyk_jpeg(src, 95);
  const DecodedImage out = decode_ok(bytes);
  ASSERT_EQ(out.image.width, 32);
  ASSERT_EQ(out.image.height, 32);
  expect_quadrants(out.image, 8);
  EXPECT_LT(test::mean_abs_diff(out.image, src), 4.0);
}

TEST(DecodeJpeg, CmykBlackAndWhite) {
  Image src = test::make_solid_image(16, 16, Rgb{255, 255, 255});
  for (int y = 8; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) std::fill_n(src.row(y) + x * 3, 3, std::uint8_t{0});
  }
  const DecodedImage out = decode_ok(test::make_cmyk_jpeg(src, 95));
  EXPECT_LE(test::channel_distance(test::pixel_at(out.image, 4, 2), Rgb{255, 255, 255}), 4);
  EXPECT_LE(test::channel_distance(test::pixel_at(out.image, 4, 13), Rgb{0, 0, 0}), 4);
}

TEST(EncodeJpeg, RoundTrip) {
  const Image src = test::make_quadrant_image(64, 32);
  Result<std::vector<std::uint8_t>> bytes = encode_jpeg(src, 92);
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ(sniff_image_format(*bytes), ImageFormat::kJpeg);
  const DecodedImage out = decode_ok(*bytes);
  EXPECT_EQ(out.image.width, 64);
  EXPECT_EQ(out.image.height, 32);
  expect_quadrants(out.image, 8);
}

TEST(EncodeJpeg, RejectsInvalidArguments) {
  const Image src = test::make_gradient_image(8, 8);
  EXPECT_TRUE(test::fails_with(encode_jpeg(src, 0), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(test::fails_with(encode_jpeg(src, 101), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(test::fails_with(encode_jpeg(Image{}, 90), ErrorCode::kInvalidArgument));
  Image bad = src;
  bad.pixels.resize(10);
  EXPECT_TRUE(test::fails_with(encode_jpeg(bad, 90), ErrorCode::kInvalidArgument));
  Image wide;
  wide.width = 70000;
  wide.height = 1;
  EXPECT_TRUE(test::fails_with(encode_jpeg(wide, 90), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(encode_jpeg(src, 1).has_value());
  EXPECT_TRUE(encode_jpeg(src, 100).has_value());
}

// --- PNG -----------------------------------------------------------------------------------------

TEST(DecodePng, Rgb8IsExact) {
  const Image src = test::make_gradient_image(33, 17);
  const DecodedImage out = decode_ok(test::make_png(src));
  EXPECT_EQ(out.format, ImageFormat::kPng);
  EXPECT_EQ(out.image.width, 33);
  EXPECT_EQ(out.image.height, 17);
  EXPECT_EQ(test::max_abs_diff(out.image, src), 0);
}

TEST(DecodePng, InterlacedIsExact) {
  const Image src = test::make_gradient_image(29, 31);
  const DecodedImage out = decode_ok(test::make_png(src, /*interlaced=*/true));
  EXPECT_EQ(test::max_abs_diff(out.image, src), 0);
}

TEST(DecodePng, Rgb16IsScaledExactly) {
  const Image src = test::make_gradient_image(20, 10);
  const DecodedImage out = decode_ok(test::make_png_rgb16(src));
  EXPECT_EQ(test::max_abs_diff(out.image, src), 0);
}

TEST(DecodePng, Grey8And16) {
  const Image src = test::make_gradient_image(19, 7);
  for (const int depth : {8, 16}) {
    const DecodedImage out = decode_ok(test::make_png_grey(src, depth));
    ASSERT_EQ(out.image.width, 19);
    for (int y = 0; y < 7; ++y) {
      for (int x = 0; x < 19; ++x) {
        const Rgb p = test::pixel_at(out.image, x, y);
        const std::uint8_t g = test::luma(test::pixel_at(src, x, y));
        EXPECT_EQ(p.r, g) << "depth " << depth;
        EXPECT_EQ(p.g, g);
        EXPECT_EQ(p.b, g);
      }
    }
  }
}

TEST(DecodePng, LowBitDepthGreyExpands) {
  // 1-bit: black and white; 2- and 4-bit: values replicate to 8 bits (v4 * 17, v2 * 85).
  Image src = test::make_solid_image(13, 3, Rgb{255, 255, 255});
  for (int x = 0; x < 13; x += 2) std::fill_n(src.row(1) + x * 3, 3, std::uint8_t{0});
  for (const int depth : {1, 2, 4}) {
    const DecodedImage out = decode_ok(test::make_png_grey(src, depth));
    ASSERT_EQ(out.image.width, 13);
    ASSERT_EQ(out.image.height, 3);
    EXPECT_EQ(test::pixel_at(out.image, 0, 0).r, 255) << depth;
    EXPECT_EQ(test::pixel_at(out.image, 0, 1).g, 0) << depth;
    EXPECT_EQ(test::pixel_at(out.image, 1, 1).b, 255) << depth;
    EXPECT_EQ(test::pixel_at(out.image, 12, 1).r, 0) << depth;
  }
  Image mid = test::make_solid_image(4, 1, Rgb{136, 136, 136});  // luma 136 -> 4-bit 8 -> 136
  EXPECT_EQ(test::pixel_at(decode_ok(test::make_png_grey(mid, 4)).image, 0, 0).r, 136);
}

TEST(DecodePng, PaletteIsExact) {
  const Image src = test::make_quadrant_image(24, 18);
  const DecodedImage out = decode_ok(test::make_png_palette(src));
  EXPECT_EQ(test::max_abs_diff(out.image, src), 0);
}

TEST(DecodePng, PaletteWithTransparencyCompositesOverWhite) {
  const Image src = test::make_quadrant_image(8, 8);
  const DecodedImage out = decode_ok(test::make_png_palette(src, /*trns_alpha=*/0));
  EXPECT_EQ(test::max_abs_diff(out.image, test::make_solid_image(8, 8, Rgb{255, 255, 255})), 0);
}

TEST(DecodePng, RgbaCompositesOverWhite) {
  const Image src = test::make_quadrant_image(16, 16);
  // Opaque: exact.
  EXPECT_EQ(test::max_abs_diff(decode_ok(test::make_png_rgba(src, 255)).image, src), 0);
  // Fully transparent: white.
  EXPECT_EQ(test::max_abs_diff(decode_ok(test::make_png_rgba(src, 0)).image,
                               test::make_solid_image(16, 16, Rgb{255, 255, 255})),
            0);
  // Half transparent, 8 and 16 bits.
  for (const int depth : {8, 16}) {
    const DecodedImage out = decode_ok(test::make_png_rgba(src, 128, depth));
    const Rgb p = test::pixel_at(out.image, 2, 2);
    EXPECT_NEAR(p.r, over_white(test::kQuadrantTopLeft.r, 128), 1) << depth;
    EXPECT_NEAR(p.g, over_white(test::kQuadrantTopLeft.g, 128), 1) << depth;
    EXPECT_NEAR(p.b, over_white(test::kQuadrantTopLeft.b, 128), 1) << depth;
  }
}

TEST(DecodePng, GreyAlpha) {
  const Image src = test::make_solid_image(5, 5, Rgb{100, 100, 100});
  const DecodedImage out = decode_ok(test::make_png_grey_alpha(src, 64));
  const Rgb p = test::pixel_at(out.image, 4, 4);
  EXPECT_NEAR(p.r, over_white(100, 64), 1);
  EXPECT_EQ(p.r, p.g);
  EXPECT_EQ(p.g, p.b);
}

TEST(DecodePng, ExifOrientationFromExifChunk) {
  const Image upright = test::make_quadrant_image(32, 16);
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const DecodedImage out = decode_ok(test::make_png_with_orientation(upright, orientation));
    EXPECT_EQ(out.exif_orientation, orientation);
    EXPECT_EQ(test::max_abs_diff(out.image, upright), 0) << "orientation " << orientation;
  }
}

// --- WebP ----------------------------------------------------------------------------------------

TEST(DecodeWebp, Lossy) {
  const Image src = test::make_gradient_image(48, 40);
  const DecodedImage out = decode_ok(test::make_webp(src, false, 95.0f));
  EXPECT_EQ(out.format, ImageFormat::kWebp);
  EXPECT_EQ(out.image.width, 48);
  EXPECT_EQ(out.image.height, 40);
  EXPECT_LT(test::mean_abs_diff(out.image, src), 4.0);
}

TEST(DecodeWebp, LosslessIsExact) {
  const Image src = test::make_gradient_image(21, 13);
  const DecodedImage out = decode_ok(test::make_webp(src, true));
  EXPECT_EQ(test::max_abs_diff(out.image, src), 0);
}

TEST(DecodeWebp, AlphaCompositesOverWhite) {
  const Image src = test::make_quadrant_image(16, 16);
  EXPECT_EQ(test::max_abs_diff(decode_ok(test::make_webp_rgba(src, 255, true)).image, src), 0);
  EXPECT_EQ(test::max_abs_diff(decode_ok(test::make_webp_rgba(src, 0, true)).image,
                               test::make_solid_image(16, 16, Rgb{255, 255, 255})),
            0);
  const DecodedImage half = decode_ok(test::make_webp_rgba(src, 128, true));
  const Rgb p = test::pixel_at(half.image, 12, 12);
  EXPECT_NEAR(p.r, over_white(test::kQuadrantBottomRight.r, 128), 1);
  EXPECT_NEAR(p.b, over_white(test::kQuadrantBottomRight.b, 128), 1);
  // Lossy with an ALPH chunk (VP8X container).
  const DecodedImage lossy = decode_ok(test::make_webp_rgba(src, 128, false));
  const Rgb q = test::pixel_at(lossy.image, 4, 4);
  EXPECT_NEAR(q.r, over_white(test::kQuadrantTopLeft.r, 128), 8);
  EXPECT_NEAR(q.g, over_white(test::kQuadrantTopLeft.g, 128), 8);
}

TEST(DecodeWebp, ExifOrientation) {
  const Image upright = test::make_quadrant_image(32, 16);
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const DecodedImage out = decode_ok(test::make_webp_with_orientation(upright, orientation));
    EXPECT_EQ(out.exif_orientation, orientation);
    EXPECT_EQ(test::max_abs_diff(out.image, upright), 0) << "orientation " << orientation;
  }
}

TEST(DecodeWebp, AnimatedGivesFirstFrame) {
  const Image first = test::make_quadrant_image(16, 16);
  const Image second = test::make_solid_image(16, 16, Rgb{0, 0, 0});
  const DecodedImage out = decode_ok(test::make_animated_webp({first, second}));
  EXPECT_EQ(test::max_abs_diff(out.image, first), 0);
}

// A phone-size WebP for a model that letterboxes to 416x416 with headroom 2: libwebp rescales while decoding
// to exactly 2x what the letterbox keeps (832x624 of 1600x1200 -> 0.52), boxes stay in full-size pixels
// (full_size), the pixels match the full decode shrunk the same way, and the turned, alpha and headroom-0
// cases behave as for JPEG (issue 13).
TEST(DecodeWebp, ShrinksWhileDecodingWhenOnlyAModelSeesThePixels) {
  const Image src = test::make_gradient_image(1600, 1200);
  const auto webp = test::make_webp(src, false, 90.0f);
  DecodeLimits letterbox;
  letterbox.shrink_target = {208, 208};  // 2x of its 208x156 letterbox is 416x312: a quarter of the side
  letterbox.shrink_keep_aspect = true;
  const DecodedImage shrunk = decode_image(webp, letterbox).value();
  EXPECT_EQ(shrunk.image.width, 416);
  EXPECT_EQ(shrunk.image.height, 312);
  EXPECT_EQ(shrunk.full_size, (Size{1600, 1200}));
  EXPECT_TRUE(shrunk.shrunk());
  // The same picture: the full decode averaged down by 1600/416 compares closely.
  const DecodedImage full = decode_ok(webp);
  Image reference = Image::allocate(416, 312);
  for (int y = 0; y < 312; ++y) {
    for (int x = 0; x < 416; ++x) {
      const int sx = std::min(1599, static_cast<int>((x + 0.5) * 1600.0 / 416));
      const int sy = std::min(1199, static_cast<int>((y + 0.5) * 1200.0 / 312));
      const Rgb p = test::pixel_at(full.image, sx, sy);
      std::uint8_t* d = reference.pixels.data() + (static_cast<std::size_t>(y) * 416 + x) * 3;
      d[0] = p.r;
      d[1] = p.g;
      d[2] = p.b;
    }
  }
  EXPECT_LT(test::mean_abs_diff(shrunk.image, reference), 3.0);
  // Turned by EXIF orientation 6: the target's sides turn too (upright 1200x1600 -> 2x of 156x208).
  const DecodedImage turned =
      decode_image(test::make_webp_with_orientation(test::make_gradient_image(1200, 1600), 6), letterbox)
          .value();
  EXPECT_EQ(turned.image.width, 312);
  EXPECT_EQ(turned.image.height, 416);
  EXPECT_EQ(turned.full_size, (Size{1200, 1600}));
  // With alpha: shrunk and composited over white.
  const DecodedImage alpha = decode_image(test::make_webp_rgba(src, 255, false), letterbox).value();
  EXPECT_EQ(alpha.image.width, 416);
  EXPECT_LT(test::mean_abs_diff(alpha.image, reference), 4.0);
  // Nothing asked, headroom 0, or too little to gain: full size.
  EXPECT_EQ(decode_ok(webp).image.width, 1600);
  DecodeLimits off = letterbox;
  off.shrink_headroom = 0.F;
  EXPECT_EQ(decode_image(webp, off).value().image.width, 1600);
  DecodeLimits close = letterbox;
  close.shrink_target = {700, 700};  // 2x of 700x525 is wider than the image
  EXPECT_EQ(decode_image(webp, close).value().image.width, 1600);
}

// --- BMP -----------------------------------------------------------------------------------------

TEST(DecodeBmp, Bgr24IsExact) {
  const Image src = test::make_gradient_image(31, 9);  // rows need padding
  const DecodedImage out = decode_ok(test::make_bmp(src));
  EXPECT_EQ(out.format, ImageFormat::kBmp);
  EXPECT_EQ(out.image.width, 31);
  EXPECT_EQ(out.image.height, 9);
  EXPECT_EQ(test::max_abs_diff(out.image, src), 0);
}

TEST(DecodeBmp, TopDownIsExact) {
  const Image src = test::make_quadrant_image(10, 6);
  EXPECT_EQ(test::max_abs_diff(decode_ok(test::make_bmp(src, /*top_down=*/true)).image, src), 0);
}

TEST(DecodeBmp, Bgra32) {
  const Image src = test::make_quadrant_image(8, 8);
  EXPECT_EQ(test::max_abs_diff(decode_ok(test::make_bmp32(src, 255)).image, src), 0);
  const DecodedImage half = decode_ok(test::make_bmp32(src, 128));
  const Rgb p = test::pixel_at(half.image, 1, 6);
  EXPECT_NEAR(p.r, over_white(test::kQuadrantBottomLeft.r, 128), 1);
  EXPECT_NEAR(p.b, over_white(test::kQuadrantBottomLeft.b, 128), 1);
}

// --- All formats ---------------------------------------------------------------------------------

TEST(DecodeImage, OnePixelImages) {
  const Image src = test::make_solid_image(1, 1, Rgb{200, 100, 50});
  for (const auto& bytes :
       {test::make_jpeg(src), test::make_png(src), test::make_webp(src, true), test::make_bmp(src)}) {
    const DecodedImage out = decode_ok(bytes);
    EXPECT_EQ(out.image.width, 1);
    EXPECT_EQ(out.image.height, 1);
    EXPECT_LE(test::channel_distance(test::pixel_at(out.image, 0, 0), Rgb{200, 100, 50}), 4)
        << image_format_name(out.format);
  }
}

TEST(DecodeImage, LimitIsInclusive) {
  const Image src = test::make_gradient_image(16, 16);
  for (const auto& bytes :
       {test::make_jpeg(src), test::make_png(src), test::make_webp(src), test::make_bmp(src)}) {
    EXPECT_TRUE(decode_image(bytes, DecodeLimits{256}).has_value());
    EXPECT_TRUE(test::fails_with(decode_image(bytes, DecodeLimits{255}), ErrorCode::kImageTooLarge));
  }
}

TEST(DecodeImage, ConcurrentDecodesAreIndependent) {
  const Image src = test::make_quadrant_image(32, 32);
  const std::vector<std::vector<std::uint8_t>> files = {test::make_jpeg_with_orientation(src, 6),
                                                        test::make_cmyk_jpeg(src),
                                                        test::make_png_with_orientation(src, 3),
                                                        test::make_webp_with_orientation(src, 8),
                                                        test::make_bmp(src),
                                                        first_half_of(test::make_jpeg(src))};
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 10; ++round) {
        for (std::size_t i = 0; i < files.size(); ++i) {
          const Result<DecodedImage> r = decode_image(files[i], DecodeLimits{});
          const bool expect_ok = i + 1 < files.size();
          if (r.has_value() != expect_ok) ++failures;
          if (r && test::mean_abs_diff(r->image, src) > 4.0) ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace visearch
