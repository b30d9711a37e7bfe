#include "io/orientation.h"

#include <cstddef>
#include <cstring>

namespace visearch {
namespace {

// Stored pixel (x, y) lands at displayed pixel index origin + x * step_x + y * step_y (indices in
// pixels, row-major in the displayed raster). See the table in orientation.h.
struct Walk {
  std::ptrdiff_t origin;
  std::ptrdiff_t step_x;
  std::ptrdiff_t step_y;
};

Walk walk_for(int orientation, std::ptrdiff_t w, std::ptrdiff_t h) {
  switch (orientation) {
    case 2:
      return {w - 1, -1, w};  // (w-1-x, y)
    case 3:
      return {(h - 1) * w + (w - 1), -1, -w};  // (w-1-x, h-1-y)
    case 4:
      return {(h - 1) * w, 1, -w};  // (x, h-1-y)
    case 5:
      return {0, h, 1};  // (y, x), displayed width h
    case 6:
      return {h - 1, h, -1};  // (h-1-y, x)
    case 7:
      return {(w - 1) * h + (h - 1), -h, -1};  // (h-1-y, w-1-x)
    case 8:
      return {(w - 1) * h, -h, 1};  // (y, w-1-x)
    default:
      return {0, 1, w};  // (x, y)
  }
}

int inverse_orientation(int orientation) {
  if (orientation == 6) return 8;
  if (orientation == 8) return 6;
  return orientation;  // 1..5 and 7 are their own inverses
}

}  // namespace

Image apply_exif_orientation(const Image& stored, int orientation) {
  if (stored.empty() || !is_valid_exif_orientation(orientation) || orientation == 1) return stored;
  const int w = stored.width;
  const int h = stored.height;
  const bool swaps = orientation >= 5;
  Image out = Image::allocate(swaps ? h : w, swaps ? w : h);
  const Walk walk = walk_for(orientation, w, h);
  std::uint8_t* dst = out.pixels.data();
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* src = stored.row(y);
    std::ptrdiff_t index = walk.origin + y * walk.step_y;
    for (int x = 0; x < w; ++x, index += walk.step_x) {
      std::memcpy(dst + index * Image::kChannels, src + static_cast<std::size_t>(x) * Image::kChannels,
                  Image::kChannels);
    }
  }
  return out;
}

Image to_stored_orientation(const Image& upright, int orientation) {
  return apply_exif_orientation(upright, inverse_orientation(orientation));
}

}  // namespace visearch
