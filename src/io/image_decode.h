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
};

struct DecodedImage {
  Image image;  // upright RGB8
  ImageFormat format = ImageFormat::kUnknown;
  int exif_orientation = 1;  // the EXIF orientation applied (1..8); 1 when absent or invalid
  int encoded_width = 0;     // dimensions as stored in the file, before orientation
  int encoded_height = 0;
};

Result<DecodedImage> decode_image(std::span<const std::uint8_t> bytes, const DecodeLimits& limits);

// Baseline JPEG, 4:2:0 chroma subsampling. quality in [1, 100]; image must be non-empty, at most
// 65535 pixels on each side and have width*height*3 pixel bytes; otherwise kInvalidArgument.
Result<std::vector<std::uint8_t>> encode_jpeg(const Image& image, int quality = 90);

// Reads a whole file. Errors: kNotFound (missing path), kInvalidArgument (a directory or an empty
// path), kPayloadTooLarge (more than max_bytes bytes; checked before reading when the size is
// known, and while reading otherwise), kIo (permission denied, read error).
Result<std::vector<std::uint8_t>> read_file_bytes(const std::string& path, std::uint64_t max_bytes);

}  // namespace visearch
