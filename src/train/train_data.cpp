#include "train/train_data.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/input_transform.h"
#include "io/image_decode.h"
#include "model/preprocess.h"

namespace visearch::train {
namespace {

constexpr std::uint64_t kMaxImageBytes = 256ULL << 20;

}  // namespace

void jitter_colour(Image& img, const AugmentOptions& augment, std::mt19937& rng) {
  std::uniform_real_distribution<float> unit(-1.F, 1.F);
  const float hue = unit(rng) * augment.hue_gain * 180.F;  // OpenCV hue is 0..179
  const float sat = 1.F + unit(rng) * augment.saturation_gain;
  const float val = 1.F + unit(rng) * augment.value_gain;
  cv::Mat rgb(img.height, img.width, CV_8UC3, img.pixels.data());
  cv::Mat hsv;
  cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
  std::array<cv::Mat, 3> planes;
  cv::split(hsv, planes.data());
  cv::Mat lut_h(1, 256, CV_8U);
  cv::Mat lut_s(1, 256, CV_8U);
  cv::Mat lut_v(1, 256, CV_8U);
  for (int i = 0; i < 256; ++i) {
    const auto fi = static_cast<float>(i);
    lut_h.at<std::uint8_t>(i) =
        static_cast<std::uint8_t>(static_cast<int>(std::lround(fi + hue + 180.F)) % 180);
    lut_s.at<std::uint8_t>(i) = cv::saturate_cast<std::uint8_t>(fi * sat);
    lut_v.at<std::uint8_t>(i) = cv::saturate_cast<std::uint8_t>(fi * val);
  }
  cv::LUT(planes[0], lut_h, planes[0]);
  cv::LUT(planes[1], lut_s, planes[1]);
  cv::LUT(planes[2], lut_v, planes[2]);
  cv::merge(planes.data(), 3, hsv);
  cv::cvtColor(hsv, rgb, cv::COLOR_HSV2RGB);
}

Result<std::vector<TrainImage>> load_train_images(const dataset::Dataset& dataset,
                                                  const std::vector<std::size_t>& indices,
                                                  const std::vector<int>& class_of, int cache_side) {
  std::vector<TrainImage> out;
  out.reserve(indices.size());
  for (std::size_t index : indices) {
    const dataset::ImageRecord& record = dataset.images[index];
    auto bytes = read_file_bytes(record.path, kMaxImageBytes, FileKind::kRegularOnly);
    if (!bytes) return Unexpected{bytes.error().code, record.path + ": " + bytes.error().message};
    auto decoded = decode_image(*bytes, DecodeLimits{});
    if (!decoded) return Unexpected{decoded.error().code, record.path + ": " + decoded.error().message};
    TrainImage item;
    item.path = record.path;
    item.original_width = decoded->image.width;
    item.original_height = decoded->image.height;
    const int long_side = std::max(item.original_width, item.original_height);
    const double scale = long_side > cache_side ? static_cast<double>(cache_side) / long_side : 1.0;
    if (scale < 1.0) {
      const int w = std::max(1, static_cast<int>(std::lround(item.original_width * scale)));
      const int h = std::max(1, static_cast<int>(std::lround(item.original_height * scale)));
      item.image = Image::allocate(w, h);
      const cv::Mat src(decoded->image.height, decoded->image.width, CV_8UC3, decoded->image.pixels.data());
      cv::Mat dst(h, w, CV_8UC3, item.image.pixels.data());
      cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_AREA);
    } else {
      item.image = std::move(decoded->image);
    }
    const double sx = static_cast<double>(item.image.width) / item.original_width;
    const double sy = static_cast<double>(item.image.height) / item.original_height;
    for (const dataset::Annotation& a : record.annotations) {
      if (a.class_id < 0 || static_cast<std::size_t>(a.class_id) >= class_of.size()) continue;
      const int cls = class_of[static_cast<std::size_t>(a.class_id)];
      if (cls < 0 || a.iscrowd) continue;
      GtBox b{static_cast<float>(a.box.x1 * sx), static_cast<float>(a.box.y1 * sy),
              static_cast<float>(a.box.x2 * sx), static_cast<float>(a.box.y2 * sy), cls};
      if (b.x2 - b.x1 >= 1.F && b.y2 - b.y1 >= 1.F) item.boxes.push_back(b);
    }
    out.push_back(std::move(item));
  }
  return out;
}

std::vector<GtBox> make_sample(const TrainImage& image, const PreprocessSpec& spec,
                               const AugmentOptions& augment, std::mt19937& rng, float input_factor,
                               float* out) {
  const Size input = spec.size;
  const Size src_size{image.image.width, image.image.height};
  const InputTransform base = InputTransform::make(spec.resize, src_size, input, spec.letterbox_rounding);
  float sx = base.scale_x();
  float sy = base.scale_y();
  float tx = static_cast<float>(base.offset_x());
  float ty = static_cast<float>(base.offset_y());
  bool flip = false;
  Image canvas;
  if (!augment.enabled) {
    canvas = resize_for_input(image.image, spec, nullptr);  // the serving resize, on the cached image
  } else {
    std::uniform_real_distribution<float> scale_dist(augment.scale_min, augment.scale_max);
    std::uniform_real_distribution<float> unit(0.F, 1.F);
    const float s = scale_dist(rng);
    sx *= s;
    sy *= s;
    const float cw = static_cast<float>(src_size.width) * sx;
    const float ch = static_cast<float>(src_size.height) * sy;
    const auto place = [&](float content, float side) {
      const float lo = std::min(0.F, side - content);
      const float hi = std::max(0.F, side - content);
      return lo + unit(rng) * (hi - lo);
    };
    tx = place(cw, static_cast<float>(input.width));
    ty = place(ch, static_cast<float>(input.height));
    flip = unit(rng) < augment.flip_probability;
    // x' = sx * x + tx, or with the flip x' = sx * (W - x) + tx.
    cv::Mat m = (cv::Mat_<double>(2, 3) << (flip ? -sx : sx), 0,
                 (flip ? sx * static_cast<float>(src_size.width) + tx : tx), 0, sy, ty);
    canvas = Image::allocate(input.width, input.height);
    const cv::Mat src(src_size.height, src_size.width, CV_8UC3,
                      const_cast<std::uint8_t*>(image.image.pixels.data()));  // NOLINT
    cv::Mat dst(input.height, input.width, CV_8UC3, canvas.pixels.data());
    cv::warpAffine(src, dst, m, dst.size(), s < 1.F ? cv::INTER_AREA : cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                   cv::Scalar::all(spec.pad_value));
    jitter_colour(canvas, augment, rng);
  }
  normalize_into(canvas, spec, out);
  if (input_factor != 1.F) {
    const std::size_t n = static_cast<std::size_t>(input.width) * static_cast<std::size_t>(input.height) * 3;
    for (std::size_t i = 0; i < n; ++i) out[i] *= input_factor;
  }
  std::vector<GtBox> boxes;
  const auto fw = static_cast<float>(input.width);
  const auto fh = static_cast<float>(input.height);
  for (const GtBox& b : image.boxes) {
    float x1 = flip ? sx * (static_cast<float>(src_size.width) - b.x2) + tx : sx * b.x1 + tx;
    float x2 = flip ? sx * (static_cast<float>(src_size.width) - b.x1) + tx : sx * b.x2 + tx;
    float y1 = sy * b.y1 + ty;
    float y2 = sy * b.y2 + ty;
    const float full = (x2 - x1) * (y2 - y1);
    x1 = std::clamp(x1, 0.F, fw);
    x2 = std::clamp(x2, 0.F, fw);
    y1 = std::clamp(y1, 0.F, fh);
    y2 = std::clamp(y2, 0.F, fh);
    const float kept = (x2 - x1) * (y2 - y1);
    if (x2 - x1 < 2.F || y2 - y1 < 2.F || kept < 0.2F * full) continue;
    boxes.push_back(GtBox{x1, y1, x2, y2, b.cls});
  }
  return boxes;
}

}  // namespace visearch::train
