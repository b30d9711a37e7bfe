#include "model/preprocess.h"

#include <array>
#include <cstring>
#include <opencv2/imgproc.hpp>

namespace visearch {
namespace {

int cv_interpolation(Interpolation interp) {
  switch (interp) {
    case Interpolation::kLinear:
      return cv::INTER_LINEAR;
    case Interpolation::kArea:
      return cv::INTER_AREA;
    case Interpolation::kCubic:
      return cv::INTER_CUBIC;
    case Interpolation::kNearest:
      return cv::INTER_NEAREST;
  }
  return cv::INTER_LINEAR;
}

}  // namespace

InputTransform input_transform_for(Size image, const PreprocessSpec& spec) {
  if (spec.resize == ResizeMode::kKeepAspect) {
    return InputTransform::make_keep_aspect(image, spec.min_side, spec.max_side, spec.letterbox_rounding);
  }
  return InputTransform::make(spec.resize, image, spec.size, spec.letterbox_rounding);
}

Image resize_for_input(const Image& image, const PreprocessSpec& spec, InputTransform* transform_out) {
  const InputTransform transform = input_transform_for(Size{image.width, image.height}, spec);
  if (transform_out != nullptr) *transform_out = transform;
  const Size input = transform.input_size();
  Image out = Image::allocate(input.width, input.height);
  if (transform.content_size() != input) std::memset(out.pixels.data(), spec.pad_value, out.pixels.size());
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

void normalize_into(const Image& resized, const PreprocessSpec& spec, float* out) {
  const int h = resized.height;
  const int w = resized.width;
  const std::size_t plane = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
  // Split the interleaved RGB bytes into planes, then scale each plane into
  // the tensor with OpenCV's vectorised convertTo: x = p / std - mean / std.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): cv::Mat has no const view; only read.
  const cv::Mat src(h, w, CV_8UC3, const_cast<std::uint8_t*>(resized.pixels.data()));
  std::array<cv::Mat, 3> channels;
  cv::split(src, channels.data());
  // Tensor channel c takes image channel src_channel[c].
  const std::array<int, 3> src_channel =
      spec.channel_order == ChannelOrder::kRgb ? std::array<int, 3>{0, 1, 2} : std::array<int, 3>{2, 1, 0};
  for (std::size_t c = 0; c < 3; ++c) {
    cv::Mat dst(h, w, CV_32F, out + c * plane);
    const double inv_std = 1.0 / static_cast<double>(spec.std[c]);
    channels[static_cast<std::size_t>(src_channel[c])].convertTo(
        dst, CV_32F, inv_std, -static_cast<double>(spec.mean[c]) * inv_std);
  }
}

PreparedInput preprocess_image(const Image& image, const PreprocessSpec& spec) {
  PreparedInput prepared;
  const Image resized = resize_for_input(image, spec, &prepared.transform);
  const std::int64_t h = resized.height;
  const std::int64_t w = resized.width;
  switch (spec.layout) {
    case TensorLayout::kNchw:
      prepared.shape = {1, 3, h, w};
      break;
    case TensorLayout::kNhwc:
      prepared.shape = {1, h, w, 3};
      break;
    case TensorLayout::kChw:
      prepared.shape = {3, h, w};
      break;
  }
  const std::size_t count = resized.pixels.size();
  const bool planar = spec.layout != TensorLayout::kNhwc;
  if (spec.type == TensorType::kFloat32 && planar) {
    prepared.tensor.resize(count);
    normalize_into(resized, spec, prepared.tensor.data());
    return prepared;
  }
  // Interleaved floats, or the pixels as bytes: channel c of the tensor takes image channel src[c].
  const std::array<std::size_t, 3> src = spec.channel_order == ChannelOrder::kRgb
                                             ? std::array<std::size_t, 3>{0, 1, 2}
                                             : std::array<std::size_t, 3>{2, 1, 0};
  const std::size_t plane = count / 3;
  const auto index = [&](std::size_t pixel, std::size_t c) {
    return planar ? c * plane + pixel : pixel * 3 + c;
  };
  if (spec.type == TensorType::kUint8) {
    prepared.bytes.resize(count);
    for (std::size_t p = 0; p < plane; ++p) {
      for (std::size_t c = 0; c < 3; ++c) prepared.bytes[index(p, c)] = resized.pixels[p * 3 + src[c]];
    }
    return prepared;
  }
  prepared.tensor.resize(count);
  for (std::size_t c = 0; c < 3; ++c) {
    const float inv_std = 1.F / spec.std[c];
    const float mean = spec.mean[c];
    for (std::size_t p = 0; p < plane; ++p) {
      prepared.tensor[index(p, c)] = (static_cast<float>(resized.pixels[p * 3 + src[c]]) - mean) * inv_std;
    }
  }
  return prepared;
}

}  // namespace visearch
