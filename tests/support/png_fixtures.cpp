// PNG fixtures via libpng (write side). The setjmp lives in png_write_all, whose frame holds no
// object with a destructor; buffers are owned by the callers.
#include <csetjmp>
#include <cstring>
#include <map>
#include <tuple>

#include <png.h>
#include <zlib.h>

#include "core/result.h"
#include "io/orientation.h"
#include "support/image_fixtures.h"

namespace visearch::test {
namespace {

void write_callback(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}
void flush_callback(png_structp /*png*/) {}

bool png_write_all(png_structp png, png_infop info, const PngSpec* spec, png_bytepp rows, png_colorp palette,
                   png_bytep trns, png_bytep exif) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, static_cast<png_uint_32>(spec->width), static_cast<png_uint_32>(spec->height),
               spec->bit_depth, spec->color_type, spec->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette != nullptr) png_set_PLTE(png, info, palette, static_cast<int>(spec->palette.size() / 3));
  if (trns != nullptr) png_set_tRNS(png, info, trns, static_cast<int>(spec->trns.size()), nullptr);
  if (exif != nullptr) png_set_eXIf_1(png, info, static_cast<png_uint_32>(spec->exif.size()), exif);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, info);
  return true;
}

int channels_of(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
      return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      return 2;
    case PNG_COLOR_TYPE_RGB:
      return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      return 4;
    case PNG_COLOR_TYPE_PALETTE:
      return 1;
    default:
      return 0;
  }
}

void put_sample(std::vector<std::uint8_t>& out, unsigned value8, int bit_depth) {
  if (bit_depth == 16) {
    const unsigned v = value8 * 257U;
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
  } else {
    out.push_back(static_cast<std::uint8_t>(value8));
  }
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
void put_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace

std::vector<std::uint8_t> encode_png(const PngSpec& spec) {
  const int bits_per_pixel = channels_of(spec.color_type) * spec.bit_depth;
  VISEARCH_ASSERT(bits_per_pixel > 0, "bad PNG colour type");
  const std::size_t row_bytes =
      (static_cast<std::size_t>(spec.width) * static_cast<std::size_t>(bits_per_pixel) + 7) / 8;
  VISEARCH_ASSERT(spec.samples.size() == row_bytes * static_cast<std::size_t>(spec.height),
                  "PNG sample size");
  std::vector<std::uint8_t> samples = spec.samples;  // libpng wants non-const rows
  std::vector<png_bytep> rows(static_cast<std::size_t>(spec.height));
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = samples.data() + y * row_bytes;
  std::vector<png_color> palette;
  for (std::size_t i = 0; i + 2 < spec.palette.size(); i += 3) {
    palette.push_back(png_color{spec.palette[i], spec.palette[i + 1], spec.palette[i + 2]});
  }
  std::vector<std::uint8_t> trns = spec.trns;
  std::vector<std::uint8_t> exif = spec.exif;

  std::vector<std::uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  VISEARCH_ASSERT(png != nullptr, "png_create_write_struct");
  png_infop info = png_create_info_struct(png);
  VISEARCH_ASSERT(info != nullptr, "png_create_info_struct");
  png_set_write_fn(png, &out, write_callback, flush_callback);
  const bool ok = png_write_all(png, info, &spec, rows.data(), palette.empty() ? nullptr : palette.data(),
                                trns.empty() ? nullptr : trns.data(), exif.empty() ? nullptr : exif.data());
  png_destroy_write_struct(&png, &info);
  VISEARCH_ASSERT(ok, "libpng write failed");
  return out;
}

std::vector<std::uint8_t> make_png(const Image& image, bool interlaced) {
  PngSpec spec;
  spec.width = image.width;
  spec.height = image.height;
  spec.color_type = PNG_COLOR_TYPE_RGB;
  spec.interlaced = interlaced;
  spec.samples = image.pixels;
  return encode_png(spec);
}

std::vector<std::uint8_t> make_png_grey(const Image& image, int bit_depth) {
  PngSpec spec;
  spec.width = image.width;
  spec.height = image.height;
  spec.color_type = PNG_COLOR_TYPE_GRAY;
  spec.bit_depth = bit_depth;
  for (int y = 0; y < image.height; ++y) {
    unsigned acc = 0;
    int filled = 0;
    for (int x = 0; x < image.width; ++x) {
      const unsigned v = luma(pixel_at(image, x, y));
      if (bit_depth >= 8) {
        put_sample(spec.samples, v, bit_depth);
        continue;
      }
      acc = (acc << bit_depth) | (v >> (8 - bit_depth));
      filled += bit_depth;
      if (filled == 8) {
        spec.samples.push_back(static_cast<std::uint8_t>(acc));
        acc = 0;
        filled = 0;
      }
    }
    if (filled > 0) spec.samples.push_back(static_cast<std::uint8_t>(acc << (8 - filled)));
  }
  return encode_png(spec);
}

std::vector<std::uint8_t> make_png_grey_alpha(const Image& image, std::uint8_t alpha) {
  PngSpec spec;
  spec.width = image.width;
  spec.height = image.height;
  spec.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      spec.samples.push_back(luma(pixel_at(image, x, y)));
      spec.samples.push_back(alpha);
    }
  }
  return encode_png(spec);
}

std::vector<std::uint8_t> make_png_rgb16(const Image& image) {
  PngSpec spec;
  spec.width = image.width;
  spec.height = image.height;
  spec.color_type = PNG_COLOR_TYPE_RGB;
  spec.bit_depth = 16;
  for (const std::uint8_t v : image.pixels) put_sample(spec.samples, v, 16);
  return encode_png(spec);
}

std::vector<std::uint8_t> make_png_rgba(const Image& image, std::uint8_t alpha, int bit_depth) {
  PngSpec spec;
  spec.width = image.width;
  spec.height = image.height;
  spec.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
  spec.bit_depth = bit_depth;
  for (std::size_t i = 0; i + 2 < image.pixels.size(); i += 3) {
    put_sample(spec.samples, image.pixels[i], bit_depth);
    put_sample(spec.samples, image.pixels[i + 1], bit_depth);
    put_sample(spec.samples, image.pixels[i + 2], bit_depth);
    put_sample(spec.samples, alpha, bit_depth);
  }
  return encode_png(spec);
}

std::vector<std::uint8_t> make_png_palette(const Image& image, std::uint8_t trns_alpha) {
  PngSpec spec;
  spec.width = image.width;
  spec.height = image.height;
  spec.color_type = PNG_COLOR_TYPE_PALETTE;
  std::map<std::tuple<int, int, int>, std::uint8_t> index;
  for (std::size_t i = 0; i + 2 < image.pixels.size(); i += 3) {
    const auto key = std::make_tuple(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]);
    auto it = index.find(key);
    if (it == index.end()) {
      VISEARCH_ASSERT(index.size() < 256, "more than 256 colours for a palette PNG");
      it = index.emplace(key, static_cast<std::uint8_t>(index.size())).first;
      spec.palette.push_back(image.pixels[i]);
      spec.palette.push_back(image.pixels[i + 1]);
      spec.palette.push_back(image.pixels[i + 2]);
    }
    spec.samples.push_back(it->second);
  }
  if (trns_alpha != 255) spec.trns.assign(index.size(), trns_alpha);
  return encode_png(spec);
}

std::vector<std::uint8_t> make_png_with_orientation(const Image& upright, int orientation) {
  const Image stored = to_stored_orientation(upright, orientation);
  PngSpec spec;
  spec.width = stored.width;
  spec.height = stored.height;
  spec.color_type = PNG_COLOR_TYPE_RGB;
  spec.samples = stored.pixels;
  spec.exif = make_exif_tiff(orientation);
  return encode_png(spec);
}

std::vector<std::uint8_t> make_png_header_claiming(std::uint32_t width, std::uint32_t height) {
  std::vector<std::uint8_t> png = make_png(make_solid_image(1, 1, Rgb{10, 20, 30}));
  // Signature(8), IHDR length(4) at 8, "IHDR" at 12, width at 16, height at 20, ..., CRC at 29.
  VISEARCH_ASSERT(
      png.size() > 33 && std::memcmp(png.data() + 12, "IHDR", 4) == 0 && be32(png.data() + 8) == 13,
      "IHDR not first");
  put_be32(png.data() + 16, width);
  put_be32(png.data() + 20, height);
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), png.data() + 12, 17);
  put_be32(png.data() + 29, static_cast<std::uint32_t>(crc));
  return png;
}

}  // namespace visearch::test
