// Image decoding and encoding: JPEG (TurboJPEG), PNG (libpng), WebP (libwebp), BMP (stb_image).
//
// Contract:
//  - decode_image() takes untrusted bytes and never crashes, leaks or throws: every failure is a
//    Result error with a one-line message. The format is chosen by magic bytes only
//    (sniff_image_format); the file name or a declared content type is never consulted.
//  - The pixel limit is checked against the dimensions in the header, before any buffer for the
//    pixels is allocated: a tiny file claiming 60000x60000 is refused with kImageTooLarge and costs
//    nothing.
//  - The returned Image is always 8-bit RGB, upright: the EXIF orientation (JPEG APP1, PNG eXIf,
//    WebP EXIF chunk) has been applied. Greyscale, palette, 16-bit and CMYK sources are converted;
//    transparency is composited over white (straight alpha, no gamma), so transparent regions come
//    out white. Embedded ICC profiles and PNG gAMA are ignored (pixels are taken as sRGB).
//  - Error codes: kCorruptImage (empty, truncated or undecodable data of a known format),
//    kUnsupportedFormat (magic bytes of no supported format), kImageTooLarge (pixel limit),
//    kInternal (out of memory or an unexpected library failure).
//
// Thread-safety: every function is reentrant and keeps no shared state; call them concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/geometry.h"
#include "core/image.h"
#include "core/result.h"

namespace visearch {

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kBmp };

// "jpeg", "png", "webp", "bmp"; "unknown" for kUnknown.
std::string_view image_format_name(ImageFormat format);
// The media type of an encoded image ("image/jpeg", ...), "application/octet-stream" for kUnknown.
std::string_view image_content_type(ImageFormat format);

// Identifies the format from its leading magic bytes only; kUnknown when none matches.
ImageFormat sniff_image_format(std::span<const std::uint8_t> bytes);

struct DecodeLimits {
  // Upper bound on width*height of the encoded image (before orientation, which preserves it).
  std::uint64_t max_pixels = 64'000'000;
  // When set, the decoder may return the image shrunk while decoding (JPEG: libjpeg-turbo's DCT scaling,
  // 1/2, 1/4 or 1/8) to the smallest scale that a model resizing the upright image to `shrink_target`
  // still has to shrink (never enlarge): with `shrink_keep_aspect` (letterbox) the image fitted into the
  // target, else the target itself. DecodedImage::full_size keeps the full-resolution size. 0 x 0 = always
  // full size.
  Size shrink_target{0, 0};
  bool shrink_keep_aspect = true;
  float shrink_headroom = 2.F;  // the decoded image stays at least this many times larger than that
};

struct DecodedImage {
  Image image;  // upright RGB8
  ImageFormat format = ImageFormat::kUnknown;
  int exif_orientation = 1;  // the EXIF orientation applied (1..8); 1 when absent or invalid
  int encoded_width = 0;     // dimensions as stored in the file, before orientation
  int encoded_height = 0;
  // The upright size at full resolution: image's size, unless decoding shrank it (see
  // DecodeLimits::shrink_to_at_least). Boxes for users are in these pixels.
  Size full_size;
  [[nodiscard]] bool shrunk() const { return full_size != Size{image.width, image.height}; }
};

Result<DecodedImage> decode_image(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);

// Baseline JPEG, 4:2:0 chroma subsampling. quality in [1, 100]; image must be non-empty, at most
// 65535 pixels on each side and have width*height*3 pixel bytes; otherwise kInvalidArgument.
Result<std::vector<std::uint8_t>> encode_jpeg(const Image& image, int quality = 90);

// Reads a whole file. Errors: kNotFound (missing path), kInvalidArgument (a directory or an empty
// path), kPayloadTooLarge (more than max_bytes bytes; checked before reading when the size is
// known, and while reading otherwise), kIo (permission denied, read error). kRegularOnly refuses pipes,
// sockets and devices (kInvalidArgument) without blocking on them: for paths that come from data (catalog
// rows, data-set folders) rather than from the person at the command line (`detect <(curl ...)`).
enum class FileKind { kAny, kRegularOnly };
Result<std::vector<std::uint8_t>> read_file_bytes(const std::string& path, std::uint64_t max_bytes,
                                                  FileKind kind = FileKind::kAny);

}  // namespace visearch
