#include "families/yolox/yolox.h"

#include <algorithm>
#include <cmath>

namespace visearch {
namespace {

class YoloxDecoder final : public Decoder {
 public:
  YoloxDecoder(std::vector<int> strides, Size input, int num_classes)
      : strides_(std::move(strides)), input_(input), num_classes_(num_classes) {}

  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override {
    const float score_threshold = params.score_threshold;
    std::int64_t rows = 0;
    for (int s : strides_) rows += static_cast<std::int64_t>(input_.width / s) * (input_.height / s);
    const std::int64_t cols = 5 + num_classes_;
    const Tensor* out = find_output_by_shape(outputs, {1, rows, cols});
    if (out == nullptr) {
      return Unexpected{ErrorCode::kInference, "YOLOX: expected output [1," + std::to_string(rows) + "," +
                                                   std::to_string(cols) + "], got " +
                                                   describe_outputs(outputs)};
    }
    std::vector<Candidate> candidates;
    const float* row = out->data.data();
    for (int stride : strides_) {
      const int grid_w = input_.width / stride;
      const int grid_h = input_.height / stride;
      const auto s = static_cast<float>(stride);
      for (int gy = 0; gy < grid_h; ++gy) {
        for (int gx = 0; gx < grid_w; ++gx, row += cols) {
          const float obj = row[4];
          if (obj < score_threshold) continue;  // score <= obj
          const float* cls = row + 5;
          const float* best = std::max_element(cls, cls + num_classes_);
          const float score = obj * *best;
          if (score < score_threshold) continue;
          const float cx = (row[0] + static_cast<float>(gx)) * s;
          const float cy = (row[1] + static_cast<float>(gy)) * s;
          const float hw = std::exp(row[2]) * s / 2.F;
          const float hh = std::exp(row[3]) * s / 2.F;
          candidates.push_back(
              Candidate{InputBox{cx - hw, cy - hh, cx + hw, cy + hh}, static_cast<int>(best - cls), score});
        }
      }
    }
    return candidates;
  }

 private:
  std::vector<int> strides_;
  Size input_;
  int num_classes_;
};

}  // namespace

void register_yolox(FamilyRegistry& registry) {
  registry.add("yolox", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    std::vector<int> strides = ctx.spec.decoder.value("strides", std::vector<int>{8, 16, 32});
    for (int s : strides) {
      if (s <= 0)
        return Unexpected{ErrorCode::kInvalidSpec, ctx.spec.source_path + ": strides must be positive"};
    }
    return std::unique_ptr<Decoder>(std::make_unique<YoloxDecoder>(
        std::move(strides), ctx.spec.preprocess.size, static_cast<int>(ctx.spec.labels.size())));
  });
}

}  // namespace visearch
