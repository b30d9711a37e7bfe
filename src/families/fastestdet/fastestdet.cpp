#include "families/fastestdet/fastestdet.h"

#include <algorithm>
#include <cmath>

namespace visearch {
namespace {

float sigmoid(float x) {
  return 1.F / (1.F + std::exp(-x));
}

class FastestDetDecoder final : public Decoder {
 public:
  FastestDetDecoder(Size input, int num_classes, float obj_power, float cls_power)
      : input_(input), num_classes_(num_classes), obj_power_(obj_power), cls_power_(cls_power) {}

  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override {
    const float score_threshold = params.score_threshold;
    const Tensor* out = nullptr;
    for (const Tensor& t : outputs) {
      if (t.shape.size() == 4 && t.shape[0] == 1 && t.shape[1] == 5 + num_classes_) out = &t;
    }
    if (out == nullptr) {
      return Unexpected{ErrorCode::kInference, "FastestDet: expected output [1," +
                                                   std::to_string(5 + num_classes_) + ",H,W], got " +
                                                   describe_outputs(outputs)};
    }
    const auto grid_h = static_cast<int>(out->shape[2]);
    const auto grid_w = static_cast<int>(out->shape[3]);
    const std::size_t plane = static_cast<std::size_t>(grid_h) * grid_w;
    const float* data = out->data.data();
    const auto iw = static_cast<float>(input_.width);
    const auto ih = static_cast<float>(input_.height);
    std::vector<Candidate> candidates;
    for (int gy = 0; gy < grid_h; ++gy) {
      for (int gx = 0; gx < grid_w; ++gx) {
        const std::size_t cell = static_cast<std::size_t>(gy) * grid_w + gx;
        const float obj = data[cell];
        int best_class = 0;
        float best = -1.F;
        for (int k = 0; k < num_classes_; ++k) {
          const float p = data[(5 + static_cast<std::size_t>(k)) * plane + cell];
          if (p > best) {
            best = p;
            best_class = k;
          }
        }
        const float score =
            std::pow(std::max(obj, 0.F), obj_power_) * std::pow(std::max(best, 0.F), cls_power_);
        if (score < score_threshold) continue;
        const float cx =
            (static_cast<float>(gx) + std::tanh(data[plane + cell])) / static_cast<float>(grid_w);
        const float cy =
            (static_cast<float>(gy) + std::tanh(data[2 * plane + cell])) / static_cast<float>(grid_h);
        const float w = sigmoid(data[3 * plane + cell]);
        const float h = sigmoid(data[4 * plane + cell]);
        candidates.push_back(Candidate{
            InputBox{(cx - w / 2.F) * iw, (cy - h / 2.F) * ih, (cx + w / 2.F) * iw, (cy + h / 2.F) * ih},
            best_class, score});
      }
    }
    return candidates;
  }

 private:
  Size input_;
  int num_classes_;
  float obj_power_;
  float cls_power_;
};

}  // namespace

void register_fastestdet(FamilyRegistry& registry) {
  registry.add("fastestdet", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    return std::unique_ptr<Decoder>(std::make_unique<FastestDetDecoder>(
        ctx.spec.preprocess.size, static_cast<int>(ctx.spec.labels.size()),
        ctx.spec.decoder.value("objectness_power", 0.6F), ctx.spec.decoder.value("class_power", 0.4F)));
  });
}

}  // namespace visearch
