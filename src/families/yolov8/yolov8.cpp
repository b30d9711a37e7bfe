#include "families/yolov8/yolov8.h"

namespace visearch {
namespace {

class Yolov8Decoder final : public Decoder {
 public:
  Yolov8Decoder(int num_classes, bool channels_first)
      : num_classes_(num_classes), channels_first_(channels_first) {}

  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override {
    const float score_threshold = params.score_threshold;
    const std::int64_t channels = 4 + num_classes_;
    const Tensor* out = nullptr;
    for (const Tensor& t : outputs) {
      if (t.shape.size() == 3 && t.shape[0] == 1 && t.shape[channels_first_ ? 1 : 2] == channels) out = &t;
    }
    if (out == nullptr) {
      return Unexpected{ErrorCode::kInference,
                        std::string("YOLOv8: expected output ") +
                            (channels_first_ ? "[1," + std::to_string(channels) + ",N]"
                                             : "[1,N," + std::to_string(channels) + "]") +
                            ", got " + describe_outputs(outputs)};
    }
    const auto n = static_cast<std::size_t>(channels_first_ ? out->shape[2] : out->shape[1]);
    const auto ch = static_cast<std::size_t>(channels);
    const float* data = out->data.data();
    // Element (channel c, anchor j).
    const auto at = [&](std::size_t c, std::size_t j) {
      return channels_first_ ? data[c * n + j] : data[j * ch + c];
    };
    std::vector<Candidate> candidates;
    for (std::size_t j = 0; j < n; ++j) {
      int best_class = 0;
      float best = at(4, j);
      for (int k = 1; k < num_classes_; ++k) {
        const float p = at(4 + static_cast<std::size_t>(k), j);
        if (p > best) {
          best = p;
          best_class = k;
        }
      }
      if (best < score_threshold) continue;
      const float cx = at(0, j);
      const float cy = at(1, j);
      const float hw = at(2, j) / 2.F;
      const float hh = at(3, j) / 2.F;
      candidates.push_back(Candidate{InputBox{cx - hw, cy - hh, cx + hw, cy + hh}, best_class, best});
    }
    return candidates;
  }

 private:
  int num_classes_;
  bool channels_first_;
};

}  // namespace

void register_yolov8(FamilyRegistry& registry) {
  registry.add("yolov8", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    const std::string layout = ctx.spec.decoder.value("layout", std::string("channels_first"));
    if (layout != "channels_first" && layout != "channels_last") {
      return Unexpected{ErrorCode::kInvalidSpec,
                        ctx.spec.source_path + ": decoder.layout must be channels_first or channels_last"};
    }
    return std::unique_ptr<Decoder>(std::make_unique<Yolov8Decoder>(static_cast<int>(ctx.spec.labels.size()),
                                                                    layout == "channels_first"));
  });
}

}  // namespace visearch
