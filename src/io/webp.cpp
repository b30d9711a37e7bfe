// WebP decoding via libwebp; EXIF and animation via libwebpdemux.
#include <limits>
#include <memory>
#include <vector>

#include <webp/decode.h>
#include <webp/demux.h>

#include "io/decoders.h"

namespace visearch::io_detail {
namespace {

constexpr std::string_view kWebp = "webp";

struct DemuxDeleter {
  void operator()(WebPDemuxer* demux) const { WebPDemuxDelete(demux); }
};
struct AnimDecoderDeleter {
  void operator()(WebPAnimDecoder* decoder) const { WebPAnimDecoderDelete(decoder); }
};

const char* status_text(VP8StatusCode status) {
  switch (status) {
    case VP8_STATUS_OK:
      return "ok";
    case VP8_STATUS_OUT_OF_MEMORY:
      return "out of memory";
    case VP8_STATUS_INVALID_PARAM:
      return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR:
      return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
      return "unsupported feature";
    case VP8_STATUS_SUSPENDED:
      return "suspended";
    case VP8_STATUS_USER_ABORT:
      return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA:
      return "not enough data (truncated file)";
  }
  return "unknown error";
}

int webp_exif_orientation(const WebPData& data) {
  const std::unique_ptr<WebPDemuxer, DemuxDeleter> demux(WebPDemux(&data));
  if (!demux) return 1;
  WebPChunkIterator chunk;
  if (WebPDemuxGetChunk(demux.get(), "EXIF", 1, &chunk) == 0) return 1;
  const int orientation = exif_orientation_from_exif({chunk.chunk.bytes, chunk.chunk.size});
  WebPDemuxReleaseChunkIterator(&chunk);
  return orientation;
}

// First frame of an animation, as a full canvas.
Result<std::vector<std::uint8_t>> decode_first_frame_rgba(const WebPData& data, int width, int height) {
  WebPAnimDecoderOptions options;
  if (WebPAnimDecoderOptionsInit(&options) == 0)
    return Unexpected{ErrorCode::kInternal, "libwebp ABI mismatch"};
  options.color_mode = MODE_RGBA;
  options.use_threads = 0;
  const std::unique_ptr<WebPAnimDecoder, AnimDecoderDeleter> decoder(WebPAnimDecoderNew(&data, &options));
  if (!decoder) return corrupt(kWebp, "invalid animation");
  WebPAnimInfo info;
  if (WebPAnimDecoderGetInfo(decoder.get(), &info) == 0 ||
      info.canvas_width != static_cast<std::uint32_t>(width) ||
      info.canvas_height != static_cast<std::uint32_t>(height)) {
    return corrupt(kWebp, "inconsistent animation canvas");
  }
  std::uint8_t* frame = nullptr;
  int timestamp = 0;
  if (WebPAnimDecoderGetNext(decoder.get(), &frame, &timestamp) == 0 || frame == nullptr) {
    return corrupt(kWebp, "cannot decode the first animation frame");
  }
  const std::size_t bytes = static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4;
  return std::vector<std::uint8_t>(frame, frame + bytes);
}

}  // namespace

Result<RawDecode> decode_webp(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  WebPBitstreamFeatures features;
  const VP8StatusCode status = WebPGetFeatures(bytes.data(), bytes.size(), &features);
  if (status != VP8_STATUS_OK) return corrupt(kWebp, status_text(status));
  VISEARCH_TRY(check_pixel_limit(kWebp, features.width, features.height, limits));

  const int width = features.width;
  const int height = features.height;
  const std::size_t pixel_count = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  const WebPData data{bytes.data(), bytes.size()};
  RawDecode out;
  if (features.has_animation != 0) {
    Result<std::vector<std::uint8_t>> rgba = decode_first_frame_rgba(data, width, height);
    if (!rgba) return rgba.error();
    out.stored = Image::allocate(width, height);
    composite_rgba_over_white(rgba->data(), pixel_count, out.stored.pixels.data());
  } else if (features.has_alpha != 0) {
    std::vector<std::uint8_t> rgba(pixel_count * 4);
    if (WebPDecodeRGBAInto(bytes.data(), bytes.size(), rgba.data(), rgba.size(), width * 4) == nullptr) {
      return corrupt(kWebp, "cannot decode image data (truncated or corrupt)");
    }
    out.stored = Image::allocate(width, height);
    composite_rgba_over_white(rgba.data(), pixel_count, out.stored.pixels.data());
  } else {
    out.stored = Image::allocate(width, height);
    if (WebPDecodeRGBInto(bytes.data(), bytes.size(), out.stored.pixels.data(), out.stored.pixels.size(),
                          width * 3) == nullptr) {
      return corrupt(kWebp, "cannot decode image data (truncated or corrupt)");
    }
  }
  out.exif_orientation = webp_exif_orientation(data);
  return out;
}

}  // namespace visearch::io_detail
