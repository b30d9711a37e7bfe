#include "families/yolov5/yolov5.h"

#include <algorithm>

namespace visearch {
namespace {

class Yolov5Decoder final : public Decoder {
 public:
  explicit Yolov5Decoder(int num_classes) : num_classes_(num_classes) {}

  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override {
    const float score_threshold = params.score_threshold;
    const Tensor* out = nullptr;
    for (const Tensor& t : outputs) {
      if (t.shape.size() == 3 && t.shape[0] == 1 && t.shape[2] == 5 + num_classes_) out = &t;
    }
    if (out == nullptr) {
      return Unexpected{ErrorCode::kInference, "YOLOv5: expected output [1,N," +
                                                   std::to_string(5 + num_classes_) + "], got " +
                                                   describe_outputs(outputs)};
    }
    const std::size_t cols = 5 + static_cast<std::size_t>(num_classes_);
    std::vector<Candidate> candidates;
    for (std::int64_t i = 0; i < out->shape[1]; ++i) {
      const float* row = out->data.data() + static_cast<std::size_t>(i) * cols;
      if (row[4] < score_threshold) continue;
      const float* cls = row + 5;
      const float* best = std::max_element(cls, cls + num_classes_);
      const float score = row[4] * *best;
      if (score < score_threshold) continue;
      const float hw = row[2] / 2.F;
      const float hh = row[3] / 2.F;
      candidates.push_back(Candidate{InputBox{row[0] - hw, row[1] - hh, row[0] + hw, row[1] + hh},
                                     static_cast<int>(best - cls), score});
    }
    return candidates;
  }

 private:
  int num_classes_;
};

}  // namespace

void register_yolov5(FamilyRegistry& registry) {
  registry.add("yolov5", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    return std::unique_ptr<Decoder>(
        std::make_unique<Yolov5Decoder>(static_cast<int>(ctx.spec.labels.size())));
  });
}

}  // namespace visearch
