#include "families/yolo_end2end/yolo_end2end.h"

#include "families/common/end_to_end.h"

namespace visearch {
namespace {

class YoloEnd2EndDecoder final : public EndToEndDecoder {
 public:
  YoloEnd2EndDecoder(std::string name, ClassIdMap classes, bool nms)
      : EndToEndDecoder(nms), name_(std::move(name)), classes_(std::move(classes)) {}

  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override {
    const Tensor* out = nullptr;
    if (name_.empty()) {
      for (const Tensor& t : outputs) {
        if (t.shape.size() == 3 && t.shape[0] == 1 && t.shape[2] == 6) out = &t;
      }
    } else {
      auto named = named_output(outputs, name_, "yolo_end2end");
      if (!named) return named.error();
      out = *named;
    }
    if (out == nullptr || out->shape.size() != 3 || out->shape[0] != 1 || out->shape[2] != 6) {
      return Unexpected{ErrorCode::kInference,
                        "yolo_end2end: expected an output [1,N,6], got " + describe_outputs(outputs)};
    }
    const auto n = static_cast<std::size_t>(out->shape[1]);
    std::vector<Candidate> candidates;
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = out->data.data() + i * 6;
      if (!(row[4] >= params.score_threshold)) continue;
      const int label = classes_.label_of(row[5]);
      if (label < 0) continue;
      candidates.push_back(Candidate{InputBox{row[0], row[1], row[2], row[3]}, label, row[4]});
    }
    return candidates;
  }

 private:
  std::string name_;
  ClassIdMap classes_;
};

}  // namespace

void register_yolo_end2end(FamilyRegistry& registry) {
  registry.add("yolo_end2end", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    auto name = spec_output_name(ctx.spec, "predictions", "");
    if (!name) return name.error();
    auto classes = ClassIdMap::from_spec(ctx.spec, 0);
    if (!classes) return classes.error();
    auto nms = spec_nms(ctx.spec);
    if (!nms) return nms.error();
    return std::unique_ptr<Decoder>(
        std::make_unique<YoloEnd2EndDecoder>(std::move(*name), std::move(*classes), *nms));
  });
}

}  // namespace visearch
