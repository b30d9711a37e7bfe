// BMP fixtures, written by hand (BITMAPFILEHEADER + BITMAPINFOHEADER).
#include "core/result.h"
#include "support/image_fixtures.h"

namespace visearch::test {
namespace {

void put_le(std::vector<std::uint8_t>& out, std::uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::vector<std::uint8_t> bmp_header(int width, int height, int bpp, std::size_t pixel_bytes) {
  std::vector<std::uint8_t> out{'B', 'M'};
  put_le(out, static_cast<std::uint32_t>(54 + pixel_bytes), 4);
  put_le(out, 0, 4);   // reserved
  put_le(out, 54, 4);  // pixel data offset
  put_le(out, 40, 4);  // BITMAPINFOHEADER
  put_le(out, static_cast<std::uint32_t>(width), 4);
  put_le(out, static_cast<std::uint32_t>(height), 4);
  put_le(out, 1, 2);  // planes
  put_le(out, static_cast<std::uint32_t>(bpp), 2);
  put_le(out, 0, 4);  // BI_RGB
  put_le(out, static_cast<std::uint32_t>(pixel_bytes), 4);
  put_le(out, 2835, 4);  // 72 dpi
  put_le(out, 2835, 4);
  put_le(out, 0, 4);  // colours used
  put_le(out, 0, 4);  // important colours
  return out;
}

std::vector<std::uint8_t> make_bmp_with_depth(const Image& image, int bpp, std::uint8_t alpha,
                                              bool top_down) {
  const std::size_t bytes_per_pixel = static_cast<std::size_t>(bpp) / 8;
  const std::size_t row_bytes = (static_cast<std::size_t>(image.width) * bytes_per_pixel + 3) / 4 * 4;
  const std::size_t pixel_bytes = row_bytes * static_cast<std::size_t>(image.height);
  std::vector<std::uint8_t> out =
      bmp_header(image.width, top_down ? -image.height : image.height, bpp, pixel_bytes);
  for (int i = 0; i < image.height; ++i) {
    const int y = top_down ? i : image.height - 1 - i;
    std::size_t written = 0;
    for (int x = 0; x < image.width; ++x) {
      const Rgb c = pixel_at(image, x, y);
      out.insert(out.end(), {c.b, c.g, c.r});
      if (bpp == 32) out.push_back(alpha);
      written += bytes_per_pixel;
    }
    for (; written < row_bytes; ++written) out.push_back(0);
  }
  return out;
}

}  // namespace

std::vector<std::uint8_t> make_bmp(const Image& image, bool top_down) {
  return make_bmp_with_depth(image, 24, 255, top_down);
}

std::vector<std::uint8_t> make_bmp32(const Image& image, std::uint8_t alpha) {
  return make_bmp_with_depth(image, 32, alpha, false);
}

std::vector<std::uint8_t> make_bmp_header_claiming(int width, int height) {
  const std::size_t row_bytes = (static_cast<std::size_t>(width) * 3 + 3) / 4 * 4;
  return bmp_header(width, height, 24, row_bytes * static_cast<std::size_t>(height));
}

}  // namespace visearch::test
