#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "io/image_decode.h"
#include "support/image_fixtures.h"

namespace visearch {
namespace {

using namespace std::literals;

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(SniffImageFormat, RecognisesMagicBytes) {
  EXPECT_EQ(sniff_image_format(bytes_of("\xFF\xD8\xFF\xE0"sv)), ImageFormat::kJpeg);
  EXPECT_EQ(sniff_image_format(bytes_of("\x89PNG\r\n\x1A\n"sv)), ImageFormat::kPng);
  EXPECT_EQ(sniff_image_format(bytes_of("RIFF\x10\0\0\0WEBPVP8 "sv)), ImageFormat::kWebp);
  EXPECT_EQ(sniff_image_format(bytes_of("BM\x36\0\0\0"sv)), ImageFormat::kBmp);
}

TEST(SniffImageFormat, RecognisesEncodedFixtures) {
  const Image img = test::make_gradient_image(16, 16);
  EXPECT_EQ(sniff_image_format(test::make_jpeg(img)), ImageFormat::kJpeg);
  EXPECT_EQ(sniff_image_format(test::make_png(img)), ImageFormat::kPng);
  EXPECT_EQ(sniff_image_format(test::make_webp(img)), ImageFormat::kWebp);
  EXPECT_EQ(sniff_image_format(test::make_bmp(img)), ImageFormat::kBmp);
}

TEST(SniffImageFormat, UnknownAndTooShort) {
  EXPECT_EQ(sniff_image_format({}), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_image_format(bytes_of("\xFF\xD8"sv)), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_image_format(bytes_of("\x89PNG\r\n\x1A"sv)), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_image_format(bytes_of("RIFF\x10\0\0\0WAVEfmt "sv)), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_image_format(bytes_of("RIFF\x10\0\0\0WEB"sv)), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_image_format(bytes_of("B"sv)), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_image_format(bytes_of("GIF89a\x01\0\x01\0"sv)), ImageFormat::kUnknown);
  EXPECT_EQ(sniff_image_format(bytes_of("hello world"sv)), ImageFormat::kUnknown);
  // Magic must be at the start.
  EXPECT_EQ(sniff_image_format(bytes_of(" \xFF\xD8\xFF"sv)), ImageFormat::kUnknown);
}

TEST(ImageFormatName, NamesEveryFormat) {
  EXPECT_EQ(image_format_name(ImageFormat::kJpeg), "jpeg");
  EXPECT_EQ(image_format_name(ImageFormat::kPng), "png");
  EXPECT_EQ(image_format_name(ImageFormat::kWebp), "webp");
  EXPECT_EQ(image_format_name(ImageFormat::kBmp), "bmp");
  EXPECT_EQ(image_format_name(ImageFormat::kUnknown), "unknown");
}

}  // namespace
}  // namespace visearch
