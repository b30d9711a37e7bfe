// InputTransform: the one value object that maps between the original image
// and the model's input tensor. Every family's pre-processing produces one and
// its decoded boxes go back through it; no family does this arithmetic itself.
//
//   stretch          : resize to the input size, aspect ratio not kept
//   letterbox_top_left: uniform scale r = min(in_w/w, in_h/h), image at (0,0), pad right/bottom
//   letterbox_centred : same scale, image centred, pad split (integer offsets, floor)
//   keep_aspect       : uniform scale r = min(min_side / shorter side, max_side / longer side) (a bound
//                       that is 0 is left out; max_side alone never enlarges: r <= 1), no pad: the tensor is
//                       the resized image, so its size follows the image (models with a dynamic input shape,
//                       e.g. torchvision's shorter side 800 / longer side at most 1333). The scale per axis
//                       is the resized size over the image size, exactly as the pixels were resampled.
//
// to_input(b) maps an ImageBox into the tensor; to_image(b) maps back and clips
// to the image.
//
// within(crop, frame) composes a crop with the resize: the transform was made for a crop of `crop.size`
// pixels cut at (crop.x, crop.y) from a larger image of `frame` pixels (a tile, src/model/tiling.h), and
// the composed transform maps between that larger image and the tensor; to_image() clips to the crop,
// since the model saw nothing outside it. Thread-safety: plain value.
#pragma once

#include <string>
#include <string_view>

#include "core/geometry.h"
#include "core/result.h"

namespace visearch {

enum class ResizeMode { kStretch, kLetterboxTopLeft, kLetterboxCentred, kKeepAspect };

// How a letterbox computes the resized size w * r, h * r: truncated
// (int(w * r), YOLOX and Ultralytics) or rounded to nearest (NanoDet demos).
enum class SizeRounding { kFloor, kNearest };

Result<ResizeMode> parse_resize_mode(std::string_view text);
std::string_view resize_mode_name(ResizeMode mode);

class InputTransform {
 public:
  static InputTransform make(ResizeMode mode, Size image, Size input,
                             SizeRounding rounding = SizeRounding::kFloor);
  // keep_aspect: the input size is computed from the image (see above); 0 = no such bound.
  static InputTransform make_keep_aspect(Size image, int min_side, int max_side,
                                         SizeRounding rounding = SizeRounding::kFloor);

  [[nodiscard]] ResizeMode mode() const { return mode_; }
  [[nodiscard]] Size image_size() const { return image_; }
  [[nodiscard]] Size input_size() const { return input_; }
  // Size of the resized image inside the input tensor, and where it starts.
  [[nodiscard]] Size content_size() const { return content_; }
  [[nodiscard]] int offset_x() const { return offset_x_; }
  [[nodiscard]] int offset_y() const { return offset_y_; }
  [[nodiscard]] float scale_x() const { return scale_x_; }
  [[nodiscard]] float scale_y() const { return scale_y_; }

  // The crop composed with this transform (see above); `this` must have been made for crop's size.
  [[nodiscard]] InputTransform within(int crop_x, int crop_y, Size frame) const;
  // Where the transformed image sits in the image boxes are reported in: (0, 0) and image_size() unless
  // composed by within().
  [[nodiscard]] int origin_x() const { return origin_x_; }
  [[nodiscard]] int origin_y() const { return origin_y_; }
  [[nodiscard]] Size frame_size() const { return frame_; }

  [[nodiscard]] InputBox to_input(const ImageBox& box) const;
  // Maps back to original-image pixels, clipped to [0, width] x [0, height].
  [[nodiscard]] ImageBox to_image(const InputBox& box) const;
  // Same mapping without clipping (for tests of the inverse).
  [[nodiscard]] ImageBox to_image_unclipped(const InputBox& box) const;

 private:
  ResizeMode mode_ = ResizeMode::kStretch;
  Size image_;
  Size input_;
  Size content_;
  int offset_x_ = 0;
  int offset_y_ = 0;
  float scale_x_ = 1.F;  // input pixels per image pixel
  float scale_y_ = 1.F;
  int origin_x_ = 0;  // the crop's corner in the frame (within())
  int origin_y_ = 0;
  Size frame_;
};

}  // namespace visearch
