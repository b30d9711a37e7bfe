// BMP decoding via stb_image, compiled here (and only here) with only the BMP loader.
#include <algorithm>
#include <climits>
#include <memory>
#include <string>

// stb_image is third-party code: compile it without our warning flags, with internal linkage so it
// cannot clash with another copy (libstb ships one as a shared library).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#pragma GCC diagnostic pop

#include "io/decoders.h"

namespace visearch::io_detail {
namespace {

constexpr std::string_view kBmp = "bmp";

struct StbDeleter {
  void operator()(stbi_uc* pixels) const { stbi_image_free(pixels); }
};

std::uint32_t le16(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8);
}
std::uint32_t le32(const std::uint8_t* p) {
  return le16(p) | (le16(p + 2) << 16);
}

// Checks stb_image does not see: stb reads past the end of the data as zeros (so a truncated file
// would decode to a partly black image) and takes abs() of the height (undefined for INT_MIN).
Status validate_bmp_layout(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 26) return corrupt(kBmp, "file too short for a BMP header");
  const std::uint32_t data_offset = le32(bytes.data() + 10);
  const std::uint32_t header_size = le32(bytes.data() + 14);
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::uint32_t bpp = 0;
  std::uint32_t compression = 0;
  if (header_size == 12) {
    width = static_cast<std::int16_t>(le16(bytes.data() + 18));
    height = static_cast<std::int16_t>(le16(bytes.data() + 20));
    bpp = le16(bytes.data() + 24);
  } else {
    if (bytes.size() < 34) return corrupt(kBmp, "file too short for a BMP header");
    width = static_cast<std::int32_t>(le32(bytes.data() + 18));
    height = static_cast<std::int32_t>(le32(bytes.data() + 22));
    bpp = le16(bytes.data() + 28);
    compression = le32(bytes.data() + 30);
  }
  if (height == INT_MIN || width <= 0 || height == 0) {
    return corrupt(kBmp, "invalid dimensions " + std::to_string(width) + "x" + std::to_string(height));
  }
  const bool uncompressed = compression == 0 || compression == 3;  // BI_RGB, BI_BITFIELDS
  const bool known_depth = bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32;
  if (uncompressed && known_depth) {
    const std::uint64_t row_bytes = (static_cast<std::uint64_t>(width) * bpp + 31) / 32 * 4;
    const std::uint64_t needed =
        data_offset + row_bytes * static_cast<std::uint64_t>(height < 0 ? -height : height);
    if (bytes.size() < needed) {
      return corrupt(kBmp, "truncated file (" + std::to_string(bytes.size()) + " bytes, pixel data needs " +
                               std::to_string(needed) + ")");
    }
  }
  return ok_status();
}

}  // namespace

Result<RawDecode> decode_bmp(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) return corrupt(kBmp, "file too large");
  const int length = static_cast<int>(bytes.size());
  int width = 0;
  int height = 0;
  int components = 0;
  if (stbi_info_from_memory(bytes.data(), length, &width, &height, &components) == 0) {
    return corrupt(kBmp, stbi_failure_reason() != nullptr ? stbi_failure_reason() : "invalid header");
  }
  // stbi_info reports a top-down BMP's height as stored, i.e. negative.
  if (height == INT_MIN) return corrupt(kBmp, "invalid height");
  if (height < 0) height = -height;
  VISEARCH_TRY(check_pixel_limit(kBmp, width, height, limits));
  VISEARCH_TRY(validate_bmp_layout(bytes));

  const int wanted = components == 4 ? 4 : 3;
  int got_width = 0;
  int got_height = 0;
  int got_components = 0;
  const std::unique_ptr<stbi_uc, StbDeleter> pixels(
      stbi_load_from_memory(bytes.data(), length, &got_width, &got_height, &got_components, wanted));
  if (!pixels) {
    return corrupt(kBmp,
                   stbi_failure_reason() != nullptr ? stbi_failure_reason() : "cannot decode pixel data");
  }
  if (got_width != width || got_height != height) return corrupt(kBmp, "inconsistent dimensions");

  RawDecode out;
  out.stored = Image::allocate(width, height);
  const std::size_t pixel_count = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  if (wanted == 4) {
    composite_rgba_over_white(pixels.get(), pixel_count, out.stored.pixels.data());
  } else {
    std::copy(pixels.get(), pixels.get() + pixel_count * 3, out.stored.pixels.begin());
  }
  return out;
}

}  // namespace visearch::io_detail
