// WebP fixtures: libwebp encoders plus hand-built RIFF containers (VP8X, EXIF, ANIM/ANMF).
#include <cstring>
#include <string_view>

#include <webp/encode.h>

#include "core/result.h"
#include "io/orientation.h"
#include "support/image_fixtures.h"

namespace visearch::test {
namespace {

std::vector<std::uint8_t> take(std::uint8_t* data, std::size_t size) {
  VISEARCH_ASSERT(data != nullptr && size > 0, "WebP encoding failed");
  std::vector<std::uint8_t> out(data, data + size);
  WebPFree(data);
  return out;
}

void put_le(std::vector<std::uint8_t>& out, std::uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put_chunk(std::vector<std::uint8_t>& out, std::string_view fourcc,
               std::span<const std::uint8_t> payload) {
  out.insert(out.end(), fourcc.begin(), fourcc.end());
  put_le(out, static_cast<std::uint32_t>(payload.size()), 4);
  out.insert(out.end(), payload.begin(), payload.end());
  if (payload.size() % 2 != 0) out.push_back(0);
}

std::vector<std::uint8_t> riff_wrap(std::span<const std::uint8_t> body) {
  std::vector<std::uint8_t> out{'R', 'I', 'F', 'F'};
  put_le(out, static_cast<std::uint32_t>(4 + body.size()), 4);
  out.insert(out.end(), {'W', 'E', 'B', 'P'});
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<std::uint8_t> vp8x_chunk(std::uint8_t flags, int width, int height) {
  std::vector<std::uint8_t> payload{flags, 0, 0, 0};
  put_le(payload, static_cast<std::uint32_t>(width - 1), 3);
  put_le(payload, static_cast<std::uint32_t>(height - 1), 3);
  std::vector<std::uint8_t> out;
  put_chunk(out, "VP8X", payload);
  return out;
}

// The image chunks (everything after "RIFF....WEBP") of a simple-format file.
std::span<const std::uint8_t> image_chunks(const std::vector<std::uint8_t>& simple) {
  VISEARCH_ASSERT(simple.size() > 20 && std::memcmp(simple.data() + 12, "VP8", 3) == 0, "not a simple WebP");
  return std::span<const std::uint8_t>(simple).subspan(12);
}

constexpr std::uint8_t kFlagAnimation = 0x02;
constexpr std::uint8_t kFlagExif = 0x08;

}  // namespace

std::vector<std::uint8_t> make_webp(const Image& image, bool lossless, float quality) {
  std::uint8_t* data = nullptr;
  const int stride = image.width * 3;
  const std::size_t size =
      lossless ? WebPEncodeLosslessRGB(image.pixels.data(), image.width, image.height, stride, &data)
               : WebPEncodeRGB(image.pixels.data(), image.width, image.height, stride, quality, &data);
  return take(data, size);
}

std::vector<std::uint8_t> make_webp_rgba(const Image& image, std::uint8_t alpha, bool lossless) {
  std::vector<std::uint8_t> rgba;
  rgba.reserve(image.pixels.size() / 3 * 4);
  for (std::size_t i = 0; i + 2 < image.pixels.size(); i += 3) {
    rgba.insert(rgba.end(), {image.pixels[i], image.pixels[i + 1], image.pixels[i + 2], alpha});
  }
  std::uint8_t* data = nullptr;
  const int stride = image.width * 4;
  const std::size_t size = lossless
                               ? WebPEncodeLosslessRGBA(rgba.data(), image.width, image.height, stride, &data)
                               : WebPEncodeRGBA(rgba.data(), image.width, image.height, stride, 95.0f, &data);
  return take(data, size);
}

std::vector<std::uint8_t> make_webp_with_orientation(const Image& upright, int orientation) {
  const Image stored = to_stored_orientation(upright, orientation);
  const std::vector<std::uint8_t> simple = make_webp(stored, /*lossless=*/true);
  std::vector<std::uint8_t> body = vp8x_chunk(kFlagExif, stored.width, stored.height);
  const std::span<const std::uint8_t> chunks = image_chunks(simple);
  body.insert(body.end(), chunks.begin(), chunks.end());
  put_chunk(body, "EXIF", make_exif_tiff(orientation));
  return riff_wrap(body);
}

std::vector<std::uint8_t> make_animated_webp(const std::vector<Image>& frames) {
  VISEARCH_ASSERT(!frames.empty(), "no frames");
  const int width = frames.front().width;
  const int height = frames.front().height;
  std::vector<std::uint8_t> body = vp8x_chunk(kFlagAnimation, width, height);
  std::vector<std::uint8_t> anim;
  put_le(anim, 0xFFFFFFFFU, 4);  // background colour
  put_le(anim, 0, 2);            // loop forever
  put_chunk(body, "ANIM", anim);
  for (const Image& frame : frames) {
    VISEARCH_ASSERT(frame.width == width && frame.height == height, "frames must share one size");
    const std::vector<std::uint8_t> simple = make_webp(frame, /*lossless=*/true);
    std::vector<std::uint8_t> anmf;
    put_le(anmf, 0, 3);  // x / 2
    put_le(anmf, 0, 3);  // y / 2
    put_le(anmf, static_cast<std::uint32_t>(width - 1), 3);
    put_le(anmf, static_cast<std::uint32_t>(height - 1), 3);
    put_le(anmf, 100, 3);  // duration, ms
    anmf.push_back(0);     // blend with alpha, no dispose
    const std::span<const std::uint8_t> chunks = image_chunks(simple);
    anmf.insert(anmf.end(), chunks.begin(), chunks.end());
    put_chunk(body, "ANMF", anmf);
  }
  return riff_wrap(body);
}

std::vector<std::uint8_t> make_webp_header_claiming(int width, int height) {
  VISEARCH_ASSERT(width >= 1 && width <= 16383 && height >= 1 && height <= 16383, "VP8 sides are 14-bit");
  std::vector<std::uint8_t> webp = make_webp(make_solid_image(16, 16, Rgb{90, 120, 150}), false, 80.0f);
  // "RIFF" size "WEBP" "VP8 " size | frame tag(3) start code 9D 01 2A | width(2) height(2).
  VISEARCH_ASSERT(webp.size() > 30 && std::memcmp(webp.data() + 12, "VP8 ", 4) == 0 && webp[23] == 0x9D &&
                      webp[24] == 0x01 && webp[25] == 0x2A,
                  "unexpected lossy WebP layout");
  webp[26] = static_cast<std::uint8_t>(width & 0xFF);
  webp[27] = static_cast<std::uint8_t>((width >> 8) & 0x3F);
  webp[28] = static_cast<std::uint8_t>(height & 0xFF);
  webp[29] = static_cast<std::uint8_t>((height >> 8) & 0x3F);
  return webp;
}

}  // namespace visearch::test
