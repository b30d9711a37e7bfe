#include "train/embedding_adapter.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>

#include <c10/core/GradMode.h>
#include <torch/optim/lbfgs.h>
#include <opencv2/imgproc.hpp>

#include "train/optim.h"

namespace visearch::train {
namespace {

at::Tensor normal_init(std::mt19937& rng, std::int64_t rows, std::int64_t cols, double stddev) {
  std::normal_distribution<float> normal(0.F, static_cast<float>(stddev));
  std::vector<float> values(static_cast<std::size_t>(rows * cols));
  for (float& v : values) v = normal(rng);
  return at::from_blob(values.data(), {rows, cols}, at::kFloat).clone();
}

// What both trainings need of their rows: two classes or more, n feature rows of in_dim for n labels, every
// label a class. `what` names the training in the message.
Status check_rows(const std::vector<float>& features, int in_dim, const std::vector<int>& labels, int classes,
                  const std::string& what) {
  const std::size_t n = labels.size();
  if (in_dim < 1 || classes < 2 || n < 2 || features.size() != n * static_cast<std::size_t>(in_dim))
    return Error{ErrorCode::kInvalidArgument,
                 what + " needs at least two classes and one feature row per label"};
  for (int label : labels)
    if (label < 0 || label >= classes)
      return Error{ErrorCode::kInvalidArgument,
                   what + ": a label is outside 0.." + std::to_string(classes - 1)};
  return ok_status();
}

}  // namespace

Image augment_crop(const Image& image, const ImageBox& box, const CropAugmentOptions& options,
                   std::mt19937& rng) {
  std::uniform_real_distribution<float> unit(0.F, 1.F);
  std::uniform_real_distribution<float> sym(-1.F, 1.F);
  const float w = box.width();
  const float h = box.height();
  const float grow = unit(rng) * options.box_grow_max;
  ImageBox b{box.x1 + (sym(rng) * options.box_jitter - grow / 2) * w,
             box.y1 + (sym(rng) * options.box_jitter - grow / 2) * h,
             box.x2 + (sym(rng) * options.box_jitter + grow / 2) * w,
             box.y2 + (sym(rng) * options.box_jitter + grow / 2) * h};
  b = b.clipped(static_cast<float>(image.width), static_cast<float>(image.height));
  int x1 = static_cast<int>(std::floor(b.x1));
  int y1 = static_cast<int>(std::floor(b.y1));
  int x2 = static_cast<int>(std::ceil(b.x2));
  int y2 = static_cast<int>(std::ceil(b.y2));
  if (x2 - x1 < 2 || y2 - y1 < 2) {  // jitter ate the box: fall back to the box itself
    const ImageBox c = box.clipped(static_cast<float>(image.width), static_cast<float>(image.height));
    x1 = static_cast<int>(std::floor(c.x1));
    y1 = static_cast<int>(std::floor(c.y1));
    x2 = std::max(x1 + 2, static_cast<int>(std::ceil(c.x2)));
    y2 = std::max(y1 + 2, static_cast<int>(std::ceil(c.y2)));
    x2 = std::min(x2, image.width);
    y2 = std::min(y2, image.height);
    x1 = std::max(0, std::min(x1, x2 - 2));
    y1 = std::max(0, std::min(y1, y2 - 2));
  }
  const cv::Mat src(image.height, image.width, CV_8UC3,
                    const_cast<std::uint8_t*>(image.pixels.data()));  // NOLINT
  cv::Mat crop = src(cv::Rect(x1, y1, x2 - x1, y2 - y1)).clone();
  if (unit(rng) < options.flip_probability) cv::flip(crop, crop, 1);
  if (unit(rng) < options.blur_probability) {
    const int k = unit(rng) < 0.5F ? 3 : 5;
    cv::GaussianBlur(crop, crop, cv::Size(k, k), 0);
  }
  if (unit(rng) < options.low_res_probability) {
    const float s = 0.25F + unit(rng) * 0.35F;
    const int sw = std::max(2, static_cast<int>(std::lround(static_cast<float>(crop.cols) * s)));
    const int sh = std::max(2, static_cast<int>(std::lround(static_cast<float>(crop.rows) * s)));
    cv::Mat small;
    cv::resize(crop, small, cv::Size(sw, sh), 0, 0, cv::INTER_AREA);
    cv::resize(small, crop, crop.size(), 0, 0, cv::INTER_LINEAR);
  }
  Image out = Image::allocate(crop.cols, crop.rows);
  for (int y = 0; y < crop.rows; ++y) std::copy_n(crop.ptr<std::uint8_t>(y), out.row_bytes(), out.row(y));
  if (options.colour.enabled) jitter_colour(out, options.colour, rng);
  return out;
}

Result<AdapterWeights> train_adapter(const std::vector<float>& features, int in_dim,
                                     const std::vector<int>& labels, int classes,
                                     const AdapterTrainOptions& options) {
  const auto n = static_cast<std::int64_t>(labels.size());
  VISEARCH_TRY(check_rows(features, in_dim, labels, classes, "adapter training"));
  if (options.out_dim < 2 || options.epochs < 1 || options.batch < 1)
    return Unexpected{ErrorCode::kInvalidArgument, "adapter training: out_dim >= 2, epochs >= 1, batch >= 1"};
  set_training_threads(options.threads);

  std::mt19937 rng(static_cast<std::uint32_t>(options.seed * 2654435761ULL + 101));
  const at::Tensor x_all =
      at::from_blob(const_cast<float*>(features.data()), {n, in_dim}, at::kFloat);  // NOLINT
  std::vector<std::int64_t> label64(labels.begin(), labels.end());
  const at::Tensor y_all = at::from_blob(label64.data(), {n}, at::kLong);

  std::map<std::string, at::Tensor> params;
  params["w"] = normal_init(rng, options.out_dim, in_dim, 1.0 / std::sqrt(static_cast<double>(in_dim)))
                    .requires_grad_();
  params["b"] = at::zeros({options.out_dim}, at::kFloat).requires_grad_();
  params["prototypes"] = normal_init(rng, classes, options.out_dim, 1.0).requires_grad_();
  Sgd sgd;

  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const std::int64_t batches = (n + options.batch - 1) / options.batch;
  const std::int64_t total_steps = batches * options.epochs;
  const std::int64_t warmup = std::min<std::int64_t>(total_steps / 10, 3 * batches);
  std::int64_t step = 0;
  double last_loss = 0;
  double last_accuracy = 0;
  const auto normalise = [](const at::Tensor& t) { return t / t.norm(2, {1}, true).clamp_min(1e-12); };
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (std::int64_t start = 0; start < n; start += options.batch) {
      const std::int64_t end = std::min(n, start + options.batch);
      const at::Tensor index = at::from_blob(order.data() + start, {end - start}, at::kLong);
      const at::Tensor x = x_all.index_select(0, index);
      const at::Tensor y = y_all.index_select(0, index);
      const at::Tensor z = normalise(at::addmm(params["b"], x, params["w"].t()));
      const at::Tensor logits = options.scale * at::mm(z, normalise(params["prototypes"]).t());
      const at::Tensor loss =
          at::cross_entropy_loss(logits, y, {}, at::Reduction::Mean, -100, options.label_smoothing);
      loss.backward();
      clip_grad_norm(params, 10.0);
      const double lr =
          step < warmup
              ? options.lr * static_cast<double>(step + 1) / static_cast<double>(warmup)
              : options.lr * 0.5 *
                    (1 + std::cos(M_PI * static_cast<double>(step - warmup) /
                                  static_cast<double>(std::max<std::int64_t>(1, total_steps - warmup))));
      sgd.step(params, lr, options.weight_decay);
      ++step;
      loss_sum += loss.item<double>() * static_cast<double>(end - start);
      correct += logits.argmax(1).eq(y).sum().item<std::int64_t>();
    }
    last_loss = loss_sum / static_cast<double>(n);
    last_accuracy = static_cast<double>(correct) / static_cast<double>(n);
  }
  AdapterWeights out;
  out.in_dim = in_dim;
  out.out_dim = options.out_dim;
  const at::Tensor w = params["w"].detach().contiguous();
  const at::Tensor b = params["b"].detach().contiguous();
  out.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  out.bias.assign(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
  const at::Tensor protos = normalise(params["prototypes"].detach()).contiguous();
  out.prototypes.assign(protos.data_ptr<float>(), protos.data_ptr<float>() + protos.numel());
  out.final_loss = last_loss;
  out.train_accuracy = last_accuracy;
  for (float v : out.weight)
    if (!std::isfinite(v))
      return Unexpected{ErrorCode::kInternal, "adapter training diverged (non-finite weights)"};
  return out;
}

Result<AdapterWeights> train_classifier(const std::vector<float>& features, int in_dim,
                                        const std::vector<int>& labels, int classes,
                                        const ClassifierTrainOptions& options) {
  const auto n = static_cast<std::int64_t>(labels.size());
  VISEARCH_TRY(check_rows(features, in_dim, labels, classes, "classifier training"));
  if (options.max_iterations < 1 || !(options.weight_decay >= 0) || !(options.input_scale > 0))
    return Unexpected{ErrorCode::kInvalidArgument,
                      "classifier training: max_iterations >= 1, weight_decay >= 0, input_scale > 0"};
  set_training_threads(options.threads);

  // Not copied: the input scale multiplies x W^T instead (the same as scaling x, without a second copy of
  // what can be the largest buffer of an adaptation).
  const at::Tensor x = at::from_blob(const_cast<float*>(features.data()), {n, in_dim}, at::kFloat);  // NOLINT
  std::vector<std::int64_t> label64(labels.begin(), labels.end());
  const at::Tensor y = at::from_blob(label64.data(), {n}, at::kLong).clone();
  at::Tensor w = at::zeros({classes, in_dim}, at::kFloat).requires_grad_();
  at::Tensor b = at::zeros({classes}, at::kFloat).requires_grad_();
  torch::optim::LBFGS lbfgs({w, b}, torch::optim::LBFGSOptions(1.0)
                                        .max_iter(options.max_iterations)
                                        .history_size(20)
                                        .tolerance_grad(1e-6)
                                        .tolerance_change(1e-10)
                                        .line_search_fn("strong_wolfe"));
  const auto objective = [&]() -> at::Tensor {
    lbfgs.zero_grad();
    const at::Tensor loss = at::cross_entropy_loss(at::addmm(b, x, w.t(), 1, options.input_scale), y) +
                            0.5 * options.weight_decay * w.pow(2).sum();
    loss.backward();
    return loss;
  };
  lbfgs.step(objective);

  AdapterWeights out;
  out.in_dim = in_dim;
  out.out_dim = classes;
  at::Tensor folded;
  at::Tensor correct;
  double loss = 0;
  {
    const c10::NoGradGuard no_grad;
    folded = w.detach().mul(options.input_scale).contiguous();
    const at::Tensor logits = at::addmm(b, x, w.t(), 1, options.input_scale);
    correct = logits.argmax(1).eq(y).sum();
    loss = (at::cross_entropy_loss(logits, y) + 0.5 * options.weight_decay * w.pow(2).sum()).item<double>();
  }
  const at::Tensor bias = b.detach().contiguous();
  out.weight.assign(folded.data_ptr<float>(), folded.data_ptr<float>() + folded.numel());
  out.bias.assign(bias.data_ptr<float>(), bias.data_ptr<float>() + bias.numel());
  out.prototypes.assign(static_cast<std::size_t>(classes) * static_cast<std::size_t>(classes), 0.F);
  for (std::size_t c = 0; c < static_cast<std::size_t>(classes); ++c)
    out.prototypes[c * static_cast<std::size_t>(classes) + c] = 1.F;
  out.final_loss = loss;
  out.train_accuracy = static_cast<double>(correct.item<std::int64_t>()) / static_cast<double>(n);
  for (float v : out.weight)
    if (!std::isfinite(v))
      return Unexpected{ErrorCode::kInternal, "classifier training diverged (non-finite weights)"};
  return out;
}

}  // namespace visearch::train
