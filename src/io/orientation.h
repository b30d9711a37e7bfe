// EXIF orientation (tag 0x0112) pixel transforms.
//
// An orientation value says how the stored raster must be transformed for display:
//   1 as stored          2 mirror horizontally   3 rotate 180         4 mirror vertically
//   5 transpose          6 rotate 90 clockwise   7 transverse         8 rotate 90 counter-clockwise
// With W x H the stored size, stored pixel (x, y) is displayed at: 2 (W-1-x, y), 3 (W-1-x, H-1-y),
// 4 (x, H-1-y), 5 (y, x), 6 (H-1-y, x), 7 (H-1-y, W-1-x), 8 (y, W-1-x). Orientations 5..8 swap
// width and height.
//
// Contract: both functions return a new Image and never modify the input; an orientation outside
// 1..8 is treated as 1 (a copy). The input must be a well-formed Image (pixels.size() ==
// width*height*3); an empty image yields an empty image. Allocation failure throws std::bad_alloc
// (decode_image catches it).
// Thread-safety: pure functions.
#pragma once

#include "core/image.h"

namespace visearch {

// Stored raster -> upright image, as a viewer displays it.
Image apply_exif_orientation(const Image& stored, int orientation);

// Upright image -> the raster a file with this orientation tag must store; the inverse of
// apply_exif_orientation (to_stored_orientation(apply_exif_orientation(s, o), o) == s).
Image to_stored_orientation(const Image& upright, int orientation);

// True for 1..8.
constexpr bool is_valid_exif_orientation(int orientation) {
  return orientation >= 1 && orientation <= 8;
}

}  // namespace visearch
