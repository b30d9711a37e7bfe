#include "model/preprocess.h"

#include <cstring>
#include <opencv2/imgproc.hpp>

namespace visearch {
namespace {

int cv_interpolation(Interpolation interp) {
  switch (interp) {
    case Interpolation::kLinear: return cv::INTER_LINEAR;
    case Interpolation::kArea: return cv::INTER_AREA;
    case Interpolation::kCubic: return cv::INTER_CUBIC;
    case Interpolation::kNearest: return cv::INTER_NEAREST;
  }
  return cv::INTER_LINEAR;
}

}  // namespace

Image resize_for_input(const Image& image, const PreprocessSpec& spec, InputTransform* transform_out) {
  const InputTransform transform =
      InputTransform::make(spec.resize, Size{image.width, image.height}, spec.size, spec.letterbox_rounding);
  if (transform_out != nullptr) *transform_out = transform;
  Image out = Image::allocate(spec.size.width, spec.size.height);
  std::memset(out.pixels.data(), spec.pad_value, out.pixels.size());
  const Size content = transform.content_size();
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): cv::Mat has no const view; src is only read.
  const cv::Mat src(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat canvas(out.height, out.width, CV_8UC3, out.pixels.data());
  cv::Mat dst = canvas(cv::Rect(transform.offset_x(), transform.offset_y(), content.width, content.height));
  if (content.width == image.width && content.height == image.height) {
    src.copyTo(dst);
  } else {
    cv::resize(src, dst, cv::Size(content.width, content.height), 0, 0, cv_interpolation(spec.interpolation));
  }
  return out;
}

PreparedInput preprocess_image(const Image& image, const PreprocessSpec& spec) {
  PreparedInput prepared;
  const Image resized = resize_for_input(image, spec, &prepared.transform);
  const std::size_t plane = static_cast<std::size_t>(spec.size.width) * static_cast<std::size_t>(spec.size.height);
  prepared.tensor.resize(plane * 3);
  // Tensor channel c reads image channel src_channel[c].
  const std::array<int, 3> src_channel =
      spec.channel_order == ChannelOrder::kRgb ? std::array<int, 3>{0, 1, 2} : std::array<int, 3>{2, 1, 0};
  std::array<float, 3> inv_std{};
  for (std::size_t c = 0; c < 3; ++c) inv_std[c] = 1.F / spec.std[c];
  float* out0 = prepared.tensor.data();
  float* out1 = out0 + plane;
  float* out2 = out1 + plane;
  const std::uint8_t* px = resized.pixels.data();
  for (std::size_t i = 0; i < plane; ++i, px += 3) {
    out0[i] = (static_cast<float>(px[src_channel[0]]) - spec.mean[0]) * inv_std[0];
    out1[i] = (static_cast<float>(px[src_channel[1]]) - spec.mean[1]) * inv_std[1];
    out2[i] = (static_cast<float>(px[src_channel[2]]) - spec.mean[2]) * inv_std[2];
  }
  return prepared;
}

}  // namespace visearch
