// Boxes carry their coordinate frame in their type, so a box in model-input
// pixels cannot be returned to a user without going through InputTransform.
//
//   InputBox  : pixels of the tensor fed to the network (e.g. 416x416, after letterbox)
//   ImageBox  : pixels of the upright original image (what users see)
//
// Corners are (x1, y1) top-left inclusive, (x2, y2) bottom-right exclusive, as
// floats; width = x2 - x1. Thread-safety: plain values.
#pragma once

#include <algorithm>

namespace visearch {

enum class Frame { kModelInput, kImage };

template <Frame F>
struct Box {
  float x1 = 0.F;
  float y1 = 0.F;
  float x2 = 0.F;
  float y2 = 0.F;

  [[nodiscard]] float width() const { return x2 - x1; }
  [[nodiscard]] float height() const { return y2 - y1; }
  [[nodiscard]] float area() const { return std::max(0.F, width()) * std::max(0.F, height()); }
  [[nodiscard]] bool valid() const { return x2 > x1 && y2 > y1; }

  [[nodiscard]] Box clipped(float max_x, float max_y) const {
    return Box{std::clamp(x1, 0.F, max_x), std::clamp(y1, 0.F, max_y), std::clamp(x2, 0.F, max_x),
               std::clamp(y2, 0.F, max_y)};
  }
  friend bool operator==(const Box&, const Box&) = default;
};

using InputBox = Box<Frame::kModelInput>;
using ImageBox = Box<Frame::kImage>;

// Intersection over union of two boxes in the same frame; 0 when both are empty.
template <Frame F>
[[nodiscard]] float iou(const Box<F>& a, const Box<F>& b) {
  const float ix = std::max(0.F, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float iy = std::max(0.F, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = ix * iy;
  const float uni = a.area() + b.area() - inter;
  return uni > 0.F ? inter / uni : 0.F;
}

struct Size {
  int width = 0;
  int height = 0;
  friend bool operator==(const Size&, const Size&) = default;
};

// A box in the pixels of an image decoded at a reduced size (`from`, e.g. a JPEG decoded at 1/4 scale),
// mapped to the pixels of the same image at `to` (its full size), clipped to it.
[[nodiscard]] inline Box<Frame::kImage> rescale(const Box<Frame::kImage>& box, Size from, Size to) {
  if (from == to || from.width <= 0 || from.height <= 0) return box;
  const float sx = static_cast<float>(to.width) / static_cast<float>(from.width);
  const float sy = static_cast<float>(to.height) / static_cast<float>(from.height);
  return Box<Frame::kImage>{box.x1 * sx, box.y1 * sy, box.x2 * sx, box.y2 * sy}.clipped(
      static_cast<float>(to.width), static_cast<float>(to.height));
}

}  // namespace visearch
