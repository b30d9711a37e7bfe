// Image: an upright (EXIF orientation applied) 8-bit RGB raster, interleaved,
// row-major, no padding between rows. This is the only pixel type that
// crosses module boundaries; decoders convert every source format to it.
//
// Thread-safety: a plain value; copies are deep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace visearch {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width * height * 3 bytes, R G B

  static constexpr int kChannels = 3;

  [[nodiscard]] bool empty() const { return width <= 0 || height <= 0; }
  [[nodiscard]] std::size_t row_bytes() const { return static_cast<std::size_t>(width) * kChannels; }
  [[nodiscard]] std::uint8_t* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * row_bytes(); }
  [[nodiscard]] const std::uint8_t* row(int y) const {
    return pixels.data() + static_cast<std::size_t>(y) * row_bytes();
  }

  static Image allocate(int w, int h) {
    Image img;
    img.width = w;
    img.height = h;
    img.pixels.resize(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * kChannels);
    return img;
  }
};

}  // namespace visearch
