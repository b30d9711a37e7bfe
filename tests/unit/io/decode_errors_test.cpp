// Bad input: every failure is the right ErrorCode with a one-line message, and nothing crashes.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "io/image_decode.h"
#include "support/image_fixtures.h"
#include "test_helpers.h"

namespace visearch {
namespace {

using test::fails_with;

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

std::vector<std::uint8_t> first_half(const std::vector<std::uint8_t>& bytes) {
  return {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2)};
}

TEST(DecodeErrors, EmptyInput) {
  const Result<DecodedImage> r = decode_image({}, DecodeLimits{});
  ASSERT_TRUE(fails_with(r, ErrorCode::kCorruptImage));
  EXPECT_EQ(r.error().message, "empty file");
}

TEST(DecodeErrors, UnsupportedFormatListsSupportedOnes) {
  using namespace std::literals;
  const Result<DecodedImage> gif = decode_image(bytes_of("GIF89a\x10\0\x10\0\x80\0\0"sv), DecodeLimits{});
  ASSERT_TRUE(fails_with(gif, ErrorCode::kUnsupportedFormat));
  EXPECT_NE(gif.error().message.find("gif"), std::string::npos) << gif.error().message;
  for (const char* name : {"jpeg", "png", "webp", "bmp"}) {
    EXPECT_NE(gif.error().message.find(name), std::string::npos) << gif.error().message;
  }
  EXPECT_TRUE(
      fails_with(decode_image(bytes_of("just some text"), DecodeLimits{}), ErrorCode::kUnsupportedFormat));
  EXPECT_TRUE(
      fails_with(decode_image(bytes_of("II*\0\x08\0\0\0"sv), DecodeLimits{}), ErrorCode::kUnsupportedFormat));
}

TEST(DecodeErrors, RandomBytes) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> bytes(1 + rng() % 2000);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    const Result<DecodedImage> r = decode_image(bytes, DecodeLimits{});
    if (sniff_image_format(bytes) == ImageFormat::kUnknown) {
      EXPECT_TRUE(fails_with(r, ErrorCode::kUnsupportedFormat));
    } else if (!r) {
      EXPECT_TRUE(test::is_one_line_message(r.error().message));
    }
  }
}

TEST(DecodeErrors, RandomBytesBehindEachMagic) {
  using namespace std::literals;
  std::mt19937 rng(99);
  const std::vector<std::string_view> magics = {"\xFF\xD8\xFF"sv, "\x89PNG\r\n\x1A\n"sv,
                                                "RIFF\x40\0\0\0WEBP"sv, "BM"sv};
  for (const std::string_view magic : magics) {
    for (int i = 0; i < 50; ++i) {
      std::vector<std::uint8_t> bytes(magic.begin(), magic.end());
      const std::size_t n = rng() % 600;
      for (std::size_t k = 0; k < n; ++k) bytes.push_back(static_cast<std::uint8_t>(rng()));
      const Result<DecodedImage> r = decode_image(bytes, DecodeLimits{});
      ASSERT_FALSE(r.has_value());
      EXPECT_TRUE(r.error().code == ErrorCode::kCorruptImage || r.error().code == ErrorCode::kImageTooLarge)
          << r.error().message;
      EXPECT_TRUE(test::is_one_line_message(r.error().message));
    }
  }
}

TEST(DecodeErrors, TruncatedJpeg) {
  const Image src = test::make_gradient_image(64, 64);
  for (const bool progressive : {false, true}) {
    const std::vector<std::uint8_t> jpeg = test::make_jpeg(src, 90, progressive);
    const Result<DecodedImage> r = decode_image(first_half(jpeg), DecodeLimits{});
    EXPECT_TRUE(fails_with(r, ErrorCode::kCorruptImage)) << "progressive=" << progressive;
    // Any cut, down to the header, is an error: never a silently grey-filled image.
    for (std::size_t cut = 3; cut < jpeg.size(); cut += 7) {
      const std::vector<std::uint8_t> part(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(cut));
      EXPECT_TRUE(fails_with(decode_image(part, DecodeLimits{}), ErrorCode::kCorruptImage))
          << "cut at " << cut << " of " << jpeg.size();
    }
    // Missing only the EOI marker.
    const std::vector<std::uint8_t> no_eoi(jpeg.begin(), jpeg.end() - 2);
    EXPECT_TRUE(fails_with(decode_image(no_eoi, DecodeLimits{}), ErrorCode::kCorruptImage));
  }
}

TEST(DecodeErrors, JpegWithTrailingGarbageStillDecodes) {
  std::vector<std::uint8_t> jpeg = test::make_jpeg(test::make_gradient_image(16, 16));
  jpeg.insert(jpeg.end(), {'t', 'r', 'a', 'i', 'l', 'e', 'r'});
  EXPECT_TRUE(decode_image(jpeg, DecodeLimits{}).has_value());
}

TEST(DecodeErrors, TruncatedPngWebpBmp) {
  const Image src = test::make_gradient_image(40, 40);
  EXPECT_TRUE(
      fails_with(decode_image(first_half(test::make_png(src)), DecodeLimits{}), ErrorCode::kCorruptImage));
  EXPECT_TRUE(fails_with(decode_image(first_half(test::make_webp(src, false)), DecodeLimits{}),
                         ErrorCode::kCorruptImage));
  EXPECT_TRUE(fails_with(decode_image(first_half(test::make_webp(src, true)), DecodeLimits{}),
                         ErrorCode::kCorruptImage));
  EXPECT_TRUE(
      fails_with(decode_image(first_half(test::make_bmp(src)), DecodeLimits{}), ErrorCode::kCorruptImage));
  for (const auto& full : {test::make_png(src), test::make_webp(src), test::make_bmp(src)}) {
    for (std::size_t cut = 1; cut + 16 < full.size(); cut += 11) {
      const std::vector<std::uint8_t> part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
      const Result<DecodedImage> r = decode_image(part, DecodeLimits{});
      EXPECT_FALSE(r.has_value()) << "cut at " << cut << " of " << full.size();
    }
  }
}

TEST(DecodeErrors, PngBadCrcIsCorrupt) {
  std::vector<std::uint8_t> png = test::make_png(test::make_gradient_image(8, 8));
  png[29] ^= 0xFF;  // IHDR CRC
  EXPECT_TRUE(fails_with(decode_image(png, DecodeLimits{}), ErrorCode::kCorruptImage));
}

TEST(DecodeErrors, ZeroDimensionsAreCorrupt) {
  EXPECT_TRUE(fails_with(decode_image(test::make_png_header_claiming(0, 10), DecodeLimits{}),
                         ErrorCode::kCorruptImage));
  EXPECT_TRUE(fails_with(decode_image(test::make_bmp_header_claiming(0, 10), DecodeLimits{}),
                         ErrorCode::kCorruptImage));
}

// A 60000x60000 header must be refused from the header alone. Under a lowered address-space limit
// an allocation of the claimed size (10.8 GB) would fail and turn the result into kInternal.
class HugeHeaderTest : public ::testing::Test {
 protected:
  static void expect_too_large(const std::vector<std::uint8_t>& bytes, const std::string& dims) {
    const test::ScopedAddressSpaceLimit limit(std::uint64_t{1} << 30);
    const Result<DecodedImage> r = decode_image(bytes, DecodeLimits{});
    ASSERT_TRUE(fails_with(r, ErrorCode::kImageTooLarge));
    EXPECT_NE(r.error().message.find(dims), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("64000000"), std::string::npos) << r.error().message;
  }
};

TEST_F(HugeHeaderTest, Jpeg) {
  expect_too_large(test::make_jpeg_header_claiming(60000, 60000), "60000x60000");
}
TEST_F(HugeHeaderTest, Png) {
  expect_too_large(test::make_png_header_claiming(60000, 60000), "60000x60000");
}
TEST_F(HugeHeaderTest, PngMaximalDimensions) {
  expect_too_large(test::make_png_header_claiming(0x7FFFFFFF, 0x7FFFFFFF), "2147483647x2147483647");
}
TEST_F(HugeHeaderTest, Webp) {
  expect_too_large(test::make_webp_header_claiming(16383, 16383), "16383x16383");
}
TEST_F(HugeHeaderTest, Bmp) {
  expect_too_large(test::make_bmp_header_claiming(60000, 60000), "60000x60000");
}

TEST_F(HugeHeaderTest, OneLongSideIsStillTooLarge) {
  expect_too_large(test::make_png_header_claiming(64000001, 1), "64000001x1");
  expect_too_large(test::make_jpeg_header_claiming(65500, 1000), "65500x1000");
}

TEST(DecodeErrors, JpegSideAboveLibjpegMaximumIsTooLarge) {
  // libjpeg refuses sides above 65500 whatever the pixel count.
  EXPECT_TRUE(fails_with(decode_image(test::make_jpeg_header_claiming(65535, 1), DecodeLimits{}),
                         ErrorCode::kImageTooLarge));
}

// Address-space limits cannot work under ASan or TSan (their shadow memory needs
// terabytes of address space), so these two exist only in the non-sanitizer
// build, which the test suite also runs.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST(DecodeErrors, AddressSpaceLimitCatchesHugeAllocations) {
  // Guards the guard: the limit really makes a 10 GB allocation fail.
  const test::ScopedAddressSpaceLimit limit(std::uint64_t{1} << 30);
  ASSERT_TRUE(limit.active());
  // volatile: the compiler may not elide the allocation.
  void* volatile block = std::malloc(std::size_t{10} << 30);
  EXPECT_EQ(block, nullptr);
  std::free(block);
}

TEST(DecodeErrors, OutOfMemoryIsAnErrorNotACrash) {
  // With the pixel limit lifted, a 30000x30000 PNG header makes the decoder allocate 2.7 GB, which
  // the address-space limit refuses: decode_image must turn std::bad_alloc into kInternal.
  const test::ScopedAddressSpaceLimit limit(std::uint64_t{1} << 30);
  ASSERT_TRUE(limit.active());
  const Result<DecodedImage> r =
      decode_image(test::make_png_header_claiming(30000, 30000), DecodeLimits{UINT64_MAX});
  EXPECT_TRUE(fails_with(r, ErrorCode::kInternal));
}
#endif  // !__SANITIZE_ADDRESS__ && !__SANITIZE_THREAD__

// Corrupting bytes of valid files must never crash (the result may be either way).
TEST(DecodeErrors, MutatedFilesDoNotCrash) {
  const Image src = test::make_quadrant_image(24, 16);
  const std::vector<std::vector<std::uint8_t>> seeds = {test::make_jpeg(src),
                                                        test::make_jpeg(src, 80, true),
                                                        test::make_cmyk_jpeg(src),
                                                        test::make_jpeg_with_orientation(src, 6),
                                                        test::make_png(src, true),
                                                        test::make_png_palette(src, 100),
                                                        test::make_png_with_orientation(src, 8),
                                                        test::make_webp(src),
                                                        test::make_webp_rgba(src, 90, false),
                                                        test::make_webp_with_orientation(src, 5),
                                                        test::make_animated_webp({src, src}),
                                                        test::make_bmp32(src, 7)};
  std::mt19937 rng(7);
  int decoded = 0;
  for (const auto& seed : seeds) {
    for (int i = 0; i < 150; ++i) {
      std::vector<std::uint8_t> bytes = seed;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<std::uint8_t>(rng());
      const Result<DecodedImage> r = decode_image(bytes, DecodeLimits{1 << 20});
      if (r) {
        ++decoded;
        EXPECT_EQ(r->image.pixels.size(), static_cast<std::size_t>(r->image.width) * r->image.height * 3);
      } else {
        EXPECT_TRUE(test::is_one_line_message(r.error().message));
      }
    }
  }
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace visearch
