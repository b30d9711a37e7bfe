// Internal to visearch_io: per-format decoders and shared helpers. Not part of the public API.
//
// Each decode_* function receives bytes already sniffed as its format, checks the header
// dimensions with check_pixel_limit() before allocating pixel buffers, and returns the stored
// (not yet oriented) raster plus the EXIF orientation it found (1 if none). They may throw
// std::bad_alloc; decode_image() catches it. Thread-safety: reentrant, no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/image.h"
#include "core/result.h"
#include "io/image_decode.h"

namespace visearch::io_detail {

struct RawDecode {
  Image stored;              // as stored in the file, RGB8 (possibly shrunk, see full_width)
  int exif_orientation = 1;  // 1..8
  int full_width = 0;        // the stored size at full resolution (0 = stored's own size)
  int full_height = 0;
};

Result<RawDecode> decode_jpeg(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);
Result<RawDecode> decode_png(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);
Result<RawDecode> decode_webp(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);
Result<RawDecode> decode_bmp(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);

// The least size a decoder that shrinks while decoding may give the stored (not yet upright) raster of a
// width x height image with EXIF `orientation`: `shrink_headroom` times what the model's resize keeps of the
// upright image (DecodeLimits::shrink_target, fitted when shrink_keep_aspect), with the target's sides
// swapped for orientations 5..8. {0, 0} when no shrinking is asked (no target, or a headroom below 1).
struct ShrinkFloor {
  double width = 0;
  double height = 0;
  [[nodiscard]] bool asked() const { return width > 0 && height > 0; }
};
ShrinkFloor shrink_floor(int width, int height, int orientation, const DecodeLimits& limits);

// Hard ceiling applied on top of DecodeLimits::max_pixels so that every buffer size computation
// (up to 4 bytes per pixel) stays far from overflow whatever the caller configures.
inline constexpr std::uint64_t kAbsoluteMaxPixels = std::uint64_t{1} << 32;

// kCorruptImage for a zero or negative dimension, kImageTooLarge when width*height exceeds the
// limit (message names the format, the dimensions and the limit).
Status check_pixel_limit(std::string_view format, std::int64_t width, std::int64_t height,
                         const DecodeLimits& limits);

// Orientation (1..8) from EXIF data: either "Exif\0\0" followed by a TIFF header, or a bare TIFF
// header ("II*\0" / "MM\0*"), as PNG eXIf and some WebP writers store it. 1 when the data is
// malformed, has no IFD0 orientation tag, or the value is outside 1..8.
int exif_orientation_from_exif(std::span<const std::uint8_t> exif);

// out[i] = rgba[i] composited over opaque white (straight alpha, 8-bit sRGB values, no gamma).
void composite_rgba_over_white(const std::uint8_t* rgba, std::size_t pixel_count, std::uint8_t* rgb);

// Collapses a library message to one trimmed line (newlines become spaces).
std::string one_line(std::string_view message);

Error corrupt(std::string_view format, std::string_view detail);

}  // namespace visearch::io_detail
