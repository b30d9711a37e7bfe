#include "io/image_decode.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "io/decoders.h"
#include "io/orientation.h"

namespace visearch {
namespace io_detail {

Status check_pixel_limit(std::string_view format, std::int64_t width, std::int64_t height,
                         const DecodeLimits& limits) {
  if (width <= 0 || height <= 0) {
    return corrupt(format, "invalid dimensions " + std::to_string(width) + "x" + std::to_string(height));
  }
  const std::uint64_t limit = std::min(limits.max_pixels, kAbsoluteMaxPixels);
  // Both factors are below 2^32 for every format we read, so the product cannot overflow.
  const std::uint64_t pixels = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
  if (pixels > limit) {
    return Unexpected{ErrorCode::kImageTooLarge,
                      std::string(format) + " image is " + std::to_string(width) + "x" +
                          std::to_string(height) + " (" + std::to_string(pixels) +
                          " pixels), above the limit of " + std::to_string(limit) + " pixels"};
  }
  return ok_status();
}

void composite_rgba_over_white(const std::uint8_t* rgba, std::size_t pixel_count, std::uint8_t* rgb) {
  for (std::size_t i = 0; i < pixel_count; ++i) {
    const unsigned a = rgba[4 * i + 3];
    const unsigned inv = 255U - a;
    for (std::size_t c = 0; c < 3; ++c) {
      const unsigned v = rgba[4 * i + c] * a + 255U * inv;
      rgb[3 * i + c] = static_cast<std::uint8_t>((v + 127U) / 255U);
    }
  }
}

std::string one_line(std::string_view message) {
  std::string out(message);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  const auto not_space = [](char c) { return c != ' '; };
  out.erase(out.begin(), std::find_if(out.begin(), out.end(), not_space));
  out.erase(std::find_if(out.rbegin(), out.rend(), not_space).base(), out.end());
  return out;
}

Error corrupt(std::string_view format, std::string_view detail) {
  std::string msg = "corrupt ";
  msg += format;
  msg += " image";
  const std::string text = one_line(detail);
  if (!text.empty()) msg += ": " + text;
  return Error{ErrorCode::kCorruptImage, std::move(msg)};
}

ShrinkFloor shrink_floor(int width, int height, int orientation, const DecodeLimits& limits) {
  const Size target = limits.shrink_target;
  const auto headroom = static_cast<double>(limits.shrink_headroom);
  if (target.width <= 0 || target.height <= 0 || !(headroom >= 1.0) || width <= 0 || height <= 0) return {};
  const bool transposed = orientation >= 5 && orientation <= 8;
  double need_w = transposed ? target.height : target.width;
  double need_h = transposed ? target.width : target.height;
  if (limits.shrink_keep_aspect) {
    const double r = std::min(need_w / width, need_h / height);
    need_w = std::ceil(width * r);
    need_h = std::ceil(height * r);
  }
  return {headroom * need_w, headroom * need_h};
}

}  // namespace io_detail

namespace {

bool starts_with(std::span<const std::uint8_t> bytes, std::string_view magic, std::size_t offset = 0) {
  if (bytes.size() < offset + magic.size()) return false;
  return std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

// Names a few well-known formats we do not read, for a more helpful error message.
std::string_view known_unsupported_format(std::span<const std::uint8_t> bytes) {
  if (starts_with(bytes, "GIF87a") || starts_with(bytes, "GIF89a")) return "gif";
  if (starts_with(bytes, std::string_view("II*\0", 4)) || starts_with(bytes, std::string_view("MM\0*", 4))) {
    return "tiff";
  }
  if (starts_with(bytes, "ftypavif", 4) || starts_with(bytes, "ftypavis", 4)) return "avif";
  if (starts_with(bytes, "ftyphei", 4) || starts_with(bytes, "ftypmif1", 4) ||
      starts_with(bytes, "ftypmsf1", 4)) {
    return "heif";
  }
  if (starts_with(bytes, std::string_view("\0\0\1\0", 4))) return "ico";
  if (starts_with(bytes, "qoif")) return "qoi";
  if (starts_with(bytes, "%PDF")) return "pdf";
  return {};
}

Result<io_detail::RawDecode> decode_by_format(ImageFormat format, std::span<const std::uint8_t> bytes,
                                              const DecodeLimits& limits) {
  switch (format) {
    case ImageFormat::kJpeg:
      return io_detail::decode_jpeg(bytes, limits);
    case ImageFormat::kPng:
      return io_detail::decode_png(bytes, limits);
    case ImageFormat::kWebp:
      return io_detail::decode_webp(bytes, limits);
    case ImageFormat::kBmp:
      return io_detail::decode_bmp(bytes, limits);
    case ImageFormat::kUnknown:
      break;
  }
  return Unexpected{ErrorCode::kInternal, "no decoder for this format"};
}

Result<DecodedImage> decode_image_unguarded(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return Unexpected{ErrorCode::kCorruptImage, "empty file"};
  const ImageFormat format = sniff_image_format(bytes);
  if (format == ImageFormat::kUnknown) {
    std::string msg = "unsupported image format";
    if (const std::string_view known = known_unsupported_format(bytes); !known.empty()) {
      msg += " (";
      msg += known;
      msg += ")";
    }
    msg += "; supported formats: jpeg, png, webp, bmp";
    return Unexpected{ErrorCode::kUnsupportedFormat, std::move(msg)};
  }
  Result<io_detail::RawDecode> raw = decode_by_format(format, bytes, limits);
  if (!raw) return raw.error();
  DecodedImage out;
  out.format = format;
  out.encoded_width = raw->full_width > 0 ? raw->full_width : raw->stored.width;
  out.encoded_height = raw->full_height > 0 ? raw->full_height : raw->stored.height;
  const int orientation = is_valid_exif_orientation(raw->exif_orientation) ? raw->exif_orientation : 1;
  out.exif_orientation = orientation;
  const bool transposed = orientation >= 5;  // 5..8 turn the image by 90 degrees
  out.full_size =
      transposed ? Size{out.encoded_height, out.encoded_width} : Size{out.encoded_width, out.encoded_height};
  if (orientation == 1) {
    out.image = std::move(raw->stored);
  } else {
    out.image = apply_exif_orientation(raw->stored, orientation);
  }
  return out;
}

}  // namespace

std::string_view image_content_type(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "image/jpeg";
    case ImageFormat::kPng:
      return "image/png";
    case ImageFormat::kWebp:
      return "image/webp";
    case ImageFormat::kBmp:
      return "image/bmp";
    case ImageFormat::kUnknown:
      break;
  }
  return "application/octet-stream";
}

std::string_view image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kWebp:
      return "webp";
    case ImageFormat::kBmp:
      return "bmp";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

ImageFormat sniff_image_format(std::span<const std::uint8_t> bytes) {
  if (starts_with(bytes, "\xFF\xD8\xFF")) return ImageFormat::kJpeg;
  if (starts_with(bytes, "\x89PNG\r\n\x1A\n")) return ImageFormat::kPng;
  if (starts_with(bytes, "RIFF") && starts_with(bytes, "WEBP", 8)) return ImageFormat::kWebp;
  if (starts_with(bytes, "BM")) return ImageFormat::kBmp;
  return ImageFormat::kUnknown;
}

Result<DecodedImage> decode_image(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  try {
    return decode_image_unguarded(bytes, limits);
  } catch (const std::bad_alloc&) {
    return Unexpected{ErrorCode::kInternal, "out of memory while decoding image"};
  } catch (const std::exception& e) {
    return Unexpected{ErrorCode::kInternal, "image decoding failed: " + io_detail::one_line(e.what())};
  } catch (...) {
    return Unexpected{ErrorCode::kInternal, "image decoding failed: unknown exception"};
  }
}

}  // namespace visearch
