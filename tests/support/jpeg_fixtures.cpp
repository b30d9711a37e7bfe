// JPEG fixtures via the TurboJPEG API.
#include <algorithm>
#include <cstring>
#include <memory>

#include <turbojpeg.h>

#include "core/result.h"
#include "io/orientation.h"
#include "support/image_fixtures.h"

namespace visearch::test {
namespace {

std::vector<std::uint8_t> compress(const std::uint8_t* pixels, int width, int height, int pixel_format,
                                   int subsamp, int quality, int flags) {
  tjhandle handle = tjInitCompress();
  VISEARCH_ASSERT(handle != nullptr, "tjInitCompress failed");
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int rc =
      tjCompress2(handle, pixels, width, 0, height, pixel_format, &buffer, &size, subsamp, quality, flags);
  tjDestroy(handle);
  VISEARCH_ASSERT(rc == 0 && buffer != nullptr, "tjCompress2 failed");
  std::vector<std::uint8_t> out(buffer, buffer + size);
  tjFree(buffer);
  return out;
}

}  // namespace

std::vector<std::uint8_t> make_jpeg(const Image& image, int quality, bool progressive, bool subsampled) {
  return compress(image.pixels.data(), image.width, image.height, TJPF_RGB,
                  subsampled ? TJSAMP_420 : TJSAMP_444, quality, progressive ? TJFLAG_PROGRESSIVE : 0);
}

std::vector<std::uint8_t> make_grey_jpeg(const Image& image, int quality) {
  std::vector<std::uint8_t> grey(static_cast<std::size_t>(image.width) *
                                 static_cast<std::size_t>(image.height));
  for (std::size_t i = 0; i < grey.size(); ++i) {
    grey[i] = luma(Rgb{image.pixels[3 * i], image.pixels[3 * i + 1], image.pixels[3 * i + 2]});
  }
  return compress(grey.data(), image.width, image.height, TJPF_GRAY, TJSAMP_GRAY, quality, 0);
}

std::vector<std::uint8_t> make_cmyk_jpeg(const Image& image, int quality) {
  // Adobe-inverted CMYK: each stored value is 255 - ink. With K' = max(R, G, B) and
  // C' = 255 * R / K', the decoder's R = C' * K' / 255 gives R back.
  const std::size_t count = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height);
  std::vector<std::uint8_t> cmyk(count * 4);
  for (std::size_t i = 0; i < count; ++i) {
    const unsigned r = image.pixels[3 * i];
    const unsigned g = image.pixels[3 * i + 1];
    const unsigned b = image.pixels[3 * i + 2];
    const unsigned k = std::max({r, g, b});
    const auto inv = [k](unsigned v) {
      return static_cast<std::uint8_t>(k == 0 ? 255U : (255U * v + k / 2) / k);
    };
    cmyk[4 * i] = inv(r);
    cmyk[4 * i + 1] = inv(g);
    cmyk[4 * i + 2] = inv(b);
    cmyk[4 * i + 3] = static_cast<std::uint8_t>(k);
  }
  return compress(cmyk.data(), image.width, image.height, TJPF_CMYK, TJSAMP_444, quality, 0);
}

std::vector<std::uint8_t> insert_jpeg_exif(std::span<const std::uint8_t> jpeg,
                                           std::span<const std::uint8_t> tiff) {
  VISEARCH_ASSERT(jpeg.size() >= 2 && jpeg[0] == 0xFF && jpeg[1] == 0xD8, "not a JPEG");
  const std::size_t segment_length = 2 + 6 + tiff.size();
  VISEARCH_ASSERT(segment_length <= 0xFFFF, "EXIF block too large for APP1");
  std::vector<std::uint8_t> out(jpeg.begin(), jpeg.begin() + 2);
  out.push_back(0xFF);
  out.push_back(0xE1);
  out.push_back(static_cast<std::uint8_t>(segment_length >> 8));
  out.push_back(static_cast<std::uint8_t>(segment_length & 0xFF));
  const char header[6] = {'E', 'x', 'i', 'f', 0, 0};
  out.insert(out.end(), header, header + 6);
  out.insert(out.end(), tiff.begin(), tiff.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

std::vector<std::uint8_t> make_jpeg_with_orientation(const Image& upright, int orientation,
                                                     bool little_endian_exif) {
  const Image stored = to_stored_orientation(upright, orientation);
  const std::vector<std::uint8_t> jpeg = make_jpeg(stored, 95);
  return insert_jpeg_exif(jpeg, make_exif_tiff(orientation, little_endian_exif));
}

std::vector<std::uint8_t> make_jpeg_header_claiming(int width, int height) {
  VISEARCH_ASSERT(width >= 1 && width <= 65535 && height >= 1 && height <= 65535, "JPEG sides are 16-bit");
  std::vector<std::uint8_t> jpeg = make_jpeg(make_solid_image(16, 16, Rgb{90, 120, 150}), 90);
  // Walk the segments to SOF0 (baseline): FF C0, length(2), precision(1), height(2), width(2).
  std::size_t pos = 2;
  while (pos + 9 < jpeg.size() && jpeg[pos] == 0xFF) {
    if (jpeg[pos + 1] == 0xC0) {
      jpeg[pos + 5] = static_cast<std::uint8_t>(height >> 8);
      jpeg[pos + 6] = static_cast<std::uint8_t>(height & 0xFF);
      jpeg[pos + 7] = static_cast<std::uint8_t>(width >> 8);
      jpeg[pos + 8] = static_cast<std::uint8_t>(width & 0xFF);
      return jpeg;
    }
    pos += 2 + ((std::size_t{jpeg[pos + 2]} << 8) | jpeg[pos + 3]);
  }
  VISEARCH_ASSERT(false, "no SOF0 marker in encoded JPEG");
  return {};
}

}  // namespace visearch::test
