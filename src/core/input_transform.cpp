#include "core/input_transform.h"

#include <algorithm>
#include <cmath>

namespace visearch {

Result<ResizeMode> parse_resize_mode(std::string_view text) {
  if (text == "stretch") return ResizeMode::kStretch;
  if (text == "letterbox_top_left") return ResizeMode::kLetterboxTopLeft;
  if (text == "letterbox_centred" || text == "letterbox_centered") return ResizeMode::kLetterboxCentred;
  if (text == "keep_aspect") return ResizeMode::kKeepAspect;
  return Unexpected{ErrorCode::kInvalidSpec,
                    "unknown resize mode '" + std::string(text) +
                        "' (expected stretch, letterbox_top_left, letterbox_centred or keep_aspect)"};
}

std::string_view resize_mode_name(ResizeMode mode) {
  switch (mode) {
    case ResizeMode::kStretch:
      return "stretch";
    case ResizeMode::kLetterboxTopLeft:
      return "letterbox_top_left";
    case ResizeMode::kLetterboxCentred:
      return "letterbox_centred";
    case ResizeMode::kKeepAspect:
      return "keep_aspect";
  }
  return "stretch";
}

InputTransform InputTransform::make(ResizeMode mode, Size image, Size input, SizeRounding rounding) {
  InputTransform t;
  t.mode_ = mode;
  t.image_ = image;
  t.frame_ = image;
  t.input_ = input;
  const auto iw = static_cast<double>(std::max(1, image.width));
  const auto ih = static_cast<double>(std::max(1, image.height));
  if (mode == ResizeMode::kStretch || mode == ResizeMode::kKeepAspect) {
    t.content_ = input;
    t.scale_x_ = static_cast<float>(input.width / iw);
    t.scale_y_ = static_cast<float>(input.height / ih);
    return t;
  }
  const double r = std::min(input.width / iw, input.height / ih);
  const auto resized = [&](double side) {
    return static_cast<int>(rounding == SizeRounding::kFloor ? side : std::round(side));
  };
  // At least one pixel, never more than the input.
  t.content_ =
      Size{std::clamp(resized(iw * r), 1, input.width), std::clamp(resized(ih * r), 1, input.height)};
  t.scale_x_ = static_cast<float>(r);
  t.scale_y_ = static_cast<float>(r);
  if (mode == ResizeMode::kLetterboxCentred) {
    t.offset_x_ = (input.width - t.content_.width) / 2;
    t.offset_y_ = (input.height - t.content_.height) / 2;
  }
  return t;
}

InputTransform InputTransform::make_keep_aspect(Size image, int min_side, int max_side,
                                                SizeRounding rounding) {
  const auto iw = static_cast<double>(std::max(1, image.width));
  const auto ih = static_cast<double>(std::max(1, image.height));
  // Only a max_side never enlarges; a min_side does (as torchvision's transform does).
  double r = 1.0;
  if (min_side > 0) r = min_side / std::min(iw, ih);
  if (max_side > 0) r = std::min(r, max_side / std::max(iw, ih));
  const auto resized = [&](double side) {
    return std::max(1, static_cast<int>(rounding == SizeRounding::kFloor ? side : std::round(side)));
  };
  // The pixels are resampled to exactly this size, so the mapping back is per axis, as for a stretch.
  return make(ResizeMode::kKeepAspect, image, Size{resized(iw * r), resized(ih * r)}, rounding);
}

InputTransform InputTransform::within(int crop_x, int crop_y, Size frame) const {
  InputTransform t = *this;
  t.origin_x_ = origin_x_ + crop_x;
  t.origin_y_ = origin_y_ + crop_y;
  t.frame_ = frame;
  return t;
}

InputBox InputTransform::to_input(const ImageBox& box) const {
  const auto ox = static_cast<float>(offset_x_);
  const auto oy = static_cast<float>(offset_y_);
  const auto cx = static_cast<float>(origin_x_);
  const auto cy = static_cast<float>(origin_y_);
  return InputBox{(box.x1 - cx) * scale_x_ + ox, (box.y1 - cy) * scale_y_ + oy, (box.x2 - cx) * scale_x_ + ox,
                  (box.y2 - cy) * scale_y_ + oy};
}

namespace {

// The resize's inverse alone: tensor pixels -> pixels of the image (or crop) that was resized.
ImageBox from_input(const InputBox& box, float ox, float oy, float sx, float sy) {
  return ImageBox{(box.x1 - ox) / sx, (box.y1 - oy) / sy, (box.x2 - ox) / sx, (box.y2 - oy) / sy};
}

ImageBox shifted(const ImageBox& box, int dx, int dy) {
  const auto fx = static_cast<float>(dx);
  const auto fy = static_cast<float>(dy);
  return ImageBox{box.x1 + fx, box.y1 + fy, box.x2 + fx, box.y2 + fy};
}

}  // namespace

ImageBox InputTransform::to_image_unclipped(const InputBox& box) const {
  return shifted(
      from_input(box, static_cast<float>(offset_x_), static_cast<float>(offset_y_), scale_x_, scale_y_),
      origin_x_, origin_y_);
}

ImageBox InputTransform::to_image(const InputBox& box) const {
  // Clipped to the resized image (the crop, for a tile), then placed in the frame.
  const ImageBox inside =
      from_input(box, static_cast<float>(offset_x_), static_cast<float>(offset_y_), scale_x_, scale_y_)
          .clipped(static_cast<float>(image_.width), static_cast<float>(image_.height));
  return shifted(inside, origin_x_, origin_y_);
}

}  // namespace visearch
