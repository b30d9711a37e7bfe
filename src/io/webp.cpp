// WebP decoding via libwebp; EXIF and animation via libwebpdemux.
#include <algorithm>
#include <cmath>
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

// The size to decode a still WebP at: libwebp rescales while decoding (area averaging, any factor), so the
// stored raster can be exactly as small as the shrink floor allows (see shrink_floor and jpeg.cpp's
// scaled_size for why a headroom); the full size when nothing is asked or the saving would be small.
std::pair<int, int> webp_scaled_size(int width, int height, int orientation, const DecodeLimits& limits) {
  const ShrinkFloor floor = shrink_floor(width, height, orientation, limits);
  if (!floor.asked()) return {width, height};
  const double scale = std::max(floor.width / width, floor.height / height);
  if (scale > 0.75) return {width, height};  // under a 44 % saving in pixels: not worth a second resampling
  return {std::min(width, static_cast<int>(std::ceil(width * scale))),
          std::min(height, static_cast<int>(std::ceil(height * scale)))};
}

// Decodes a still image (RGB, or RGBA composited over white) at out_width x out_height.
Status decode_still(std::span<const std::uint8_t> bytes, bool alpha, int out_width, int out_height,
                    bool scale, Image& out) {
  WebPDecoderConfig config;
  if (WebPInitDecoderConfig(&config) == 0) return Unexpected{ErrorCode::kInternal, "libwebp ABI mismatch"};
  const std::size_t pixel_count = static_cast<std::size_t>(out_width) * static_cast<std::size_t>(out_height);
  const int channels = alpha ? 4 : 3;
  std::vector<std::uint8_t> rgba;
  out = Image::allocate(out_width, out_height);
  std::uint8_t* target = out.pixels.data();
  std::size_t target_size = out.pixels.size();
  if (alpha) {
    rgba.resize(pixel_count * 4);
    target = rgba.data();
    target_size = rgba.size();
  }
  config.options.use_scaling = scale ? 1 : 0;
  config.options.scaled_width = out_width;
  config.options.scaled_height = out_height;
  config.output.colorspace = alpha ? MODE_RGBA : MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = target;
  config.output.u.RGBA.stride = out_width * channels;
  config.output.u.RGBA.size = target_size;
  const VP8StatusCode status = WebPDecode(bytes.data(), bytes.size(), &config);
  WebPFreeDecBuffer(&config.output);  // external memory: frees nothing of ours
  if (status != VP8_STATUS_OK) {
    return corrupt(kWebp, std::string("cannot decode image data: ") + status_text(status));
  }
  if (alpha) composite_rgba_over_white(rgba.data(), pixel_count, out.pixels.data());
  return Ok{};
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
    out.exif_orientation = webp_exif_orientation(data);
  } else {
    out.exif_orientation = webp_exif_orientation(data);
    out.full_width = width;
    out.full_height = height;
    const auto [out_width, out_height] = webp_scaled_size(width, height, out.exif_orientation, limits);
    const bool scale = out_width != width || out_height != height;
    if (auto st = decode_still(bytes, features.has_alpha != 0, out_width, out_height, scale, out.stored);
        !st) {
      return st.error();
    }
  }
  return out;
}

}  // namespace visearch::io_detail
