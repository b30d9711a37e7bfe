// Test-only helpers: synthetic images and encoders that produce the files the io tests decode
// (every format variant, EXIF orientation, headers claiming huge sizes), plus pixel comparison.
//
// Contract: inputs are trusted test data; on a library failure the helpers abort via
// VISEARCH_ASSERT (a broken fixture is a test bug, not an expected error). Returned buffers are
// owned by the caller. Thread-safety: reentrant, except ScopedAddressSpaceLimit (process-wide).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/image.h"

namespace visearch::test {

struct Rgb {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;
};

// --- Synthetic images and comparison -------------------------------------------------------------

Image make_solid_image(int width, int height, Rgb colour);
// Four quadrants: top-left red, top-right green, bottom-left blue, bottom-right yellow. Every one
// of the 8 orientations gives a different arrangement, so a wrong rotation or mirror is visible.
Image make_quadrant_image(int width, int height);
inline constexpr Rgb kQuadrantTopLeft{220, 30, 30};
inline constexpr Rgb kQuadrantTopRight{30, 200, 40};
inline constexpr Rgb kQuadrantBottomLeft{30, 40, 210};
inline constexpr Rgb kQuadrantBottomRight{230, 220, 40};
// A smooth colour gradient (compresses well, good for lossy round trips).
Image make_gradient_image(int width, int height);

Rgb pixel_at(const Image& image, int x, int y);
// Largest absolute difference over the three channels.
int channel_distance(Rgb a, Rgb b);
// Mean absolute per-channel difference; images must have the same size (else returns 255).
double mean_abs_diff(const Image& a, const Image& b);
// Largest absolute per-channel difference; 255 if the sizes differ.
int max_abs_diff(const Image& a, const Image& b);
// Luma (BT.601) as used by JPEG greyscale conversion.
std::uint8_t luma(Rgb c);

// --- EXIF ----------------------------------------------------------------------------------------

// A bare TIFF/EXIF block (no "Exif\0\0" prefix) whose IFD0 holds only Orientation = orientation.
std::vector<std::uint8_t> make_exif_tiff(int orientation, bool little_endian = false);

// --- JPEG ----------------------------------------------------------------------------------------

// 4:4:4 unless subsampled; optionally progressive.
std::vector<std::uint8_t> make_jpeg(const Image& image, int quality = 95, bool progressive = false,
                                    bool subsampled = false);
// Single-component JPEG of the image's luma.
std::vector<std::uint8_t> make_grey_jpeg(const Image& image, int quality = 95);
// Four-component (YCCK) JPEG with an Adobe APP14 marker and Adobe-inverted CMYK values.
std::vector<std::uint8_t> make_cmyk_jpeg(const Image& image, int quality = 95);
// Inserts an APP1 "Exif\0\0" segment carrying the TIFF block right after SOI.
std::vector<std::uint8_t> insert_jpeg_exif(std::span<const std::uint8_t> jpeg,
                                           std::span<const std::uint8_t> tiff);
// Pixels transformed to the stored orientation, JPEG-encoded, with an EXIF orientation tag.
std::vector<std::uint8_t> make_jpeg_with_orientation(const Image& upright, int orientation,
                                                     bool little_endian_exif = false);
// A small valid JPEG whose SOF header is patched to claim width x height (1..65535).
std::vector<std::uint8_t> make_jpeg_header_claiming(int width, int height);

// --- PNG -----------------------------------------------------------------------------------------

// Low-level: samples in PNG row order (big-endian for 16-bit), palette as RGB triples, optional
// tRNS bytes, optional eXIf payload (bare TIFF).
struct PngSpec {
  int width = 0;
  int height = 0;
  int color_type = 2;  // PNG_COLOR_TYPE_*
  int bit_depth = 8;
  bool interlaced = false;
  std::vector<std::uint8_t> samples;  // packed rows, no filter byte
  std::vector<std::uint8_t> palette;
  std::vector<std::uint8_t> trns;
  std::vector<std::uint8_t> exif;
};
std::vector<std::uint8_t> encode_png(const PngSpec& spec);

std::vector<std::uint8_t> make_png(const Image& image, bool interlaced = false);
// Greyscale of the image's luma at bit depth 1, 2, 4, 8 or 16 (low depths keep the top bits).
std::vector<std::uint8_t> make_png_grey(const Image& image, int bit_depth = 8);
std::vector<std::uint8_t> make_png_grey_alpha(const Image& image, std::uint8_t alpha);
// 16 bits per channel; each 8-bit value v becomes v * 257 (exact after scaling back).
std::vector<std::uint8_t> make_png_rgb16(const Image& image);
// RGBA with a constant alpha; 8 or 16 bits.
std::vector<std::uint8_t> make_png_rgba(const Image& image, std::uint8_t alpha, int bit_depth = 8);
// Palette PNG (the image must have at most 256 distinct colours); with trns_alpha < 255 every entry
// gets that alpha through a tRNS chunk.
std::vector<std::uint8_t> make_png_palette(const Image& image, std::uint8_t trns_alpha = 255);
std::vector<std::uint8_t> make_png_with_orientation(const Image& upright, int orientation);
// A 1x1 PNG whose IHDR claims width x height (CRC fixed).
std::vector<std::uint8_t> make_png_header_claiming(std::uint32_t width, std::uint32_t height);

// --- WebP ----------------------------------------------------------------------------------------

std::vector<std::uint8_t> make_webp(const Image& image, bool lossless = false, float quality = 95.0f);
// RGBA with constant alpha (lossless or lossy with an ALPH chunk).
std::vector<std::uint8_t> make_webp_rgba(const Image& image, std::uint8_t alpha, bool lossless = true);
// Extended (VP8X) container with an EXIF chunk; pixels in the stored orientation.
std::vector<std::uint8_t> make_webp_with_orientation(const Image& upright, int orientation);
// Animated WebP (ANIM/ANMF), each frame covering the whole canvas; frames must share one size.
std::vector<std::uint8_t> make_animated_webp(const std::vector<Image>& frames);
// A small lossy WebP whose VP8 frame header claims width x height (1..16383).
std::vector<std::uint8_t> make_webp_header_claiming(int width, int height);

// --- BMP -----------------------------------------------------------------------------------------

// 24-bit bottom-up BMP (BITMAPINFOHEADER); top_down stores a negative height.
std::vector<std::uint8_t> make_bmp(const Image& image, bool top_down = false);
// 32-bit BI_RGB BMP with constant alpha in the fourth byte.
std::vector<std::uint8_t> make_bmp32(const Image& image, std::uint8_t alpha);
// 54-byte header claiming a 24-bit width x height image, with no pixel data.
std::vector<std::uint8_t> make_bmp_header_claiming(int width, int height);

// --- Resource limits -----------------------------------------------------------------------------

// Lowers RLIMIT_AS to the current address-space size plus headroom_bytes for its lifetime, so an
// accidental huge allocation fails fast (std::bad_alloc) instead of succeeding lazily. Not usable
// under AddressSanitizer/ThreadSanitizer/MemorySanitizer (huge shadow mappings): check active().
class ScopedAddressSpaceLimit {
 public:
  explicit ScopedAddressSpaceLimit(std::uint64_t headroom_bytes);
  ScopedAddressSpaceLimit(const ScopedAddressSpaceLimit&) = delete;
  ScopedAddressSpaceLimit& operator=(const ScopedAddressSpaceLimit&) = delete;
  ~ScopedAddressSpaceLimit();
  [[nodiscard]] bool active() const { return active_; }
  static bool supported();

 private:
  bool active_ = false;
  std::uint64_t old_soft_ = 0;
};

}  // namespace visearch::test
