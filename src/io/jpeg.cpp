// JPEG decoding and encoding via the TurboJPEG API.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <turbojpeg.h>

#include "io/decoders.h"

namespace visearch {
namespace io_detail {
namespace {

constexpr std::string_view kJpeg = "jpeg";

struct TjDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

struct TjBufferDeleter {
  void operator()(unsigned char* buf) const { tjFree(buf); }
};

// What we need from the markers before the first scan.
struct JpegMarkers {
  std::span<const std::uint8_t> exif;  // APP1 payload starting with "Exif\0\0"; empty if none
  bool adobe = false;                  // an Adobe APP14 segment is present
  std::size_t sos_offset = 0;          // offset of the first SOS marker; 0 if not reached
};

// Walks the marker segments from SOI up to SOS/EOI with bounds checks. Stops quietly at anything
// malformed; TurboJPEG reports real errors.
JpegMarkers scan_jpeg_markers(std::span<const std::uint8_t> bytes) {
  JpegMarkers out;
  const std::size_t n = bytes.size();
  std::size_t pos = 2;  // after SOI
  while (pos < n) {
    if (bytes[pos] != 0xFF) break;
    while (pos < n && bytes[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= n) break;
    const std::uint8_t marker = bytes[pos++];
    if (marker == 0xDA) {  // SOS: the headers end here
      out.sos_offset = pos - 2;
      break;
    }
    if (marker == 0xD9) break;                                           // EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length field
    if (n - pos < 2) break;
    const std::size_t length = (std::size_t{bytes[pos]} << 8) | bytes[pos + 1];
    if (length < 2 || length > n - pos) break;
    const std::span<const std::uint8_t> payload = bytes.subspan(pos + 2, length - 2);
    if (marker == 0xE1 && out.exif.empty() && payload.size() >= 6 &&
        std::memcmp(payload.data(), "Exif\0\0", 6) == 0) {
      out.exif = payload;
    } else if (marker == 0xEE && payload.size() >= 5 && std::memcmp(payload.data(), "Adobe", 5) == 0) {
      out.adobe = true;
    }
    pos += length;
  }
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// libjpeg reports recoverable problems as warnings and decodes on, filling damaged areas with grey.
// TurboJPEG keeps the text of the first warning, overwritten by a fatal error if one follows, and
// its error code says "warning" whenever any warning occurred, even if a fatal error followed. So
// we accept a failed call only when its message is one of libjpeg's harmless warnings; corrupt
// data ("Corrupt JPEG data: bad Huffman code", "premature end of data segment", ...) and every
// fatal error are refused. Truncation is caught separately (no EOI marker after the first scan).
bool is_benign_warning(std::string_view message) {
  return contains(message, "extraneous bytes before marker") ||              // JWRN_EXTRANEOUS_DATA
         contains(message, "Invalid SOS parameters for sequential JPEG") ||  // JWRN_NOT_SEQUENTIAL
         contains(message, "Inconsistent progression sequence") ||           // JWRN_BOGUS_PROGRESSION
         contains(message, "Unknown Adobe color transform code") ||          // JWRN_ADOBE_XFORM
         contains(message, "unknown JFIF revision number") ||                // JWRN_JFIF_MAJOR
         contains(message, "bad ICC marker");                                // JWRN_BOGUS_ICC
}

// True when an EOI marker (FF D9) follows the start of the first scan. Entropy-coded data never
// contains FF D9 (a data FF is stuffed as FF 00), so its absence means the file was cut short.
bool has_eoi_after(std::span<const std::uint8_t> bytes, std::size_t sos_offset) {
  for (std::size_t i = bytes.size(); i >= sos_offset + 2; --i) {
    if (bytes[i - 2] == 0xFF && bytes[i - 1] == 0xD9) return true;
  }
  return false;
}

// libjpeg's CMYK output holds ink amounts; Adobe (Photoshop) files store them inverted
// (255 = no ink), which is by far the common case. Naive conversion without a colour profile.
void cmyk_to_rgb(const std::uint8_t* cmyk, std::size_t pixel_count, bool adobe_inverted, std::uint8_t* rgb) {
  for (std::size_t i = 0; i < pixel_count; ++i) {
    unsigned c = cmyk[4 * i];
    unsigned m = cmyk[4 * i + 1];
    unsigned y = cmyk[4 * i + 2];
    unsigned k = cmyk[4 * i + 3];
    if (!adobe_inverted) {
      c = 255U - c;
      m = 255U - m;
      y = 255U - y;
      k = 255U - k;
    }
    // Now each value is (255 - ink): R = (255 - C) * (255 - K) / 255.
    rgb[3 * i] = static_cast<std::uint8_t>((c * k + 127U) / 255U);
    rgb[3 * i + 1] = static_cast<std::uint8_t>((m * k + 127U) / 255U);
    rgb[3 * i + 2] = static_cast<std::uint8_t>((y * k + 127U) / 255U);
  }
}

std::string tj_message(void* handle) {
  return one_line(tjGetErrorStr2(handle));
}

// The size to decode a width x height JPEG at: the smallest of TurboJPEG's 1/8, 1/4 and 1/2 DCT scales whose
// result is still at least `shrink_headroom` times what the model's resize makes of the full image (see
// DecodeLimits::shrink_target); the full size when no scale qualifies or nothing is asked. `orientation` 5..8
// turn the image upright by 90 degrees, so the target's sides swap.
//
// Why a headroom: the model's own resize (bilinear, as the models were trained) then still shrinks by that
// factor, as it does after a full decode. Shrinking further in the DCT changes the model's input more: on
// 12-megapixel photos at a headroom of 1, boxes moved to a median IoU of about 0.95 against the full
// decode's, and weak detections near the threshold came and went. Each model spec says how much headroom it
// needs (PreprocessSpec::decode_shrink_headroom, measured by tests/golden/phone_photo_test).
std::pair<int, int> scaled_size(int width, int height, int orientation, const DecodeLimits& limits) {
  const ShrinkFloor floor = shrink_floor(width, height, orientation, limits);
  if (!floor.asked()) return {width, height};
  for (const int denominator : {8, 4, 2}) {
    const tjscalingfactor factor{1, denominator};
    const int w = TJSCALED(width, factor);
    const int h = TJSCALED(height, factor);
    if (w >= floor.width && h >= floor.height) return {w, h};
  }
  return {width, height};
}

}  // namespace

Result<RawDecode> decode_jpeg(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  static_assert(sizeof(unsigned long) >= sizeof(std::size_t), "TurboJPEG takes sizes as unsigned long");
  const JpegMarkers markers = scan_jpeg_markers(bytes);

  TjHandle handle(tjInitDecompress());
  if (!handle) return Unexpected{ErrorCode::kInternal, "cannot initialise the JPEG decoder"};
  const auto size = static_cast<unsigned long>(bytes.size());
  int width = 0;
  int height = 0;
  int subsamp = 0;
  int colorspace = 0;
  if (tjDecompressHeader3(handle.get(), bytes.data(), size, &width, &height, &subsamp, &colorspace) != 0) {
    const std::string message = tj_message(handle.get());
    if (contains(message, "Maximum supported image dimension")) {  // libjpeg: each side <= 65500
      return Unexpected{ErrorCode::kImageTooLarge, "jpeg image too large: " + message};
    }
    return corrupt(kJpeg, message);
  }
  VISEARCH_TRY(check_pixel_limit(kJpeg, width, height, limits));
  if (markers.sos_offset != 0 && !has_eoi_after(bytes, markers.sos_offset)) {
    return corrupt(kJpeg, "truncated file (no end-of-image marker)");
  }

  RawDecode out;
  if (!markers.exif.empty()) out.exif_orientation = exif_orientation_from_exif(markers.exif);
  out.full_width = width;
  out.full_height = height;
  const auto [out_width, out_height] = scaled_size(width, height, out.exif_orientation, limits);
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const std::size_t pixel_count = static_cast<std::size_t>(out_width) * static_cast<std::size_t>(out_height);
  out.stored = Image::allocate(out_width, out_height);
  std::vector<std::uint8_t> cmyk_pixels;
  if (cmyk) cmyk_pixels.resize(pixel_count * 4);
  // LIMITSCANS refuses progressive files with absurd scan counts (a CPU-exhaustion vector).
  const int flags = TJFLAG_LIMITSCANS;
  // Given a smaller width and height, TurboJPEG decodes at the matching DCT scale (see scaled_size).
  const int rc = cmyk ? tjDecompress2(handle.get(), bytes.data(), size, cmyk_pixels.data(), out_width, 0,
                                      out_height, TJPF_CMYK, flags)
                      : tjDecompress2(handle.get(), bytes.data(), size, out.stored.pixels.data(), out_width,
                                      0, out_height, TJPF_RGB, flags);
  if (rc != 0) {
    const std::string message = tj_message(handle.get());
    if (tjGetErrorCode(handle.get()) != TJERR_WARNING || !is_benign_warning(message)) {
      return corrupt(kJpeg, message);
    }
  }
  if (cmyk) cmyk_to_rgb(cmyk_pixels.data(), pixel_count, markers.adobe, out.stored.pixels.data());
  return out;
}

}  // namespace io_detail

Result<std::vector<std::uint8_t>> encode_jpeg(const Image& image, int quality) {
  if (quality < 1 || quality > 100) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "JPEG quality must be in [1, 100], got " + std::to_string(quality)};
  }
  if (image.empty() || image.width > 65535 || image.height > 65535) {
    return Unexpected{ErrorCode::kInvalidArgument, "cannot encode a " + std::to_string(image.width) + "x" +
                                                       std::to_string(image.height) +
                                                       " image as JPEG (each side must be 1..65535)"};
  }
  if (image.pixels.size() != image.row_bytes() * static_cast<std::size_t>(image.height)) {
    return Unexpected{ErrorCode::kInvalidArgument, "image pixel buffer does not match its dimensions"};
  }
  try {
    io_detail::TjHandle handle(tjInitCompress());
    if (!handle) return Unexpected{ErrorCode::kInternal, "cannot initialise the JPEG encoder"};
    unsigned char* raw = nullptr;
    unsigned long size = 0;
    const int rc = tjCompress2(handle.get(), image.pixels.data(), image.width, 0, image.height, TJPF_RGB,
                               &raw, &size, TJSAMP_420, quality, 0);
    const std::unique_ptr<unsigned char, io_detail::TjBufferDeleter> buffer(raw);
    if (rc != 0 || raw == nullptr) {
      return Unexpected{ErrorCode::kInternal, "JPEG encoding failed: " + io_detail::tj_message(handle.get())};
    }
    return std::vector<std::uint8_t>(raw, raw + size);
  } catch (const std::bad_alloc&) {
    return Unexpected{ErrorCode::kInternal, "out of memory while encoding JPEG"};
  }
}

}  // namespace visearch
