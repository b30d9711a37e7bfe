#include "families/torchvision/torchvision.h"

#include "families/common/end_to_end.h"

namespace visearch {
namespace {

struct TorchvisionOutputNames {
  std::string boxes;
  std::string labels;
  std::string scores;
};

class TorchvisionDecoder final : public EndToEndDecoder {
 public:
  TorchvisionDecoder(TorchvisionOutputNames names, ClassIdMap classes, bool nms)
      : EndToEndDecoder(nms), names_(std::move(names)), classes_(std::move(classes)) {}

  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override {
    auto boxes = named_output(outputs, names_.boxes, "torchvision");
    if (!boxes) return boxes.error();
    auto labels = named_output(outputs, names_.labels, "torchvision");
    if (!labels) return labels.error();
    auto scores = named_output(outputs, names_.scores, "torchvision");
    if (!scores) return scores.error();
    const Tensor& b = **boxes;
    const bool batched = b.shape.size() == 3 && b.shape[0] == 1;
    if (!(b.shape.size() == 2 || batched) || b.shape.back() != 4) {
      return Unexpected{ErrorCode::kInference,
                        "torchvision: expected " + names_.boxes + " [N,4], got " + describe_outputs(outputs)};
    }
    const std::size_t n = b.data.size() / 4;
    if ((*labels)->data.size() != n || (*scores)->data.size() != n) {
      return Unexpected{ErrorCode::kInference, "torchvision: expected " + names_.labels + " and " +
                                                   names_.scores + " [N] beside " + names_.boxes +
                                                   " [N,4], got " + describe_outputs(outputs)};
    }
    std::vector<Candidate> candidates;
    for (std::size_t i = 0; i < n; ++i) {
      const float score = (*scores)->data[i];
      if (!(score >= params.score_threshold)) continue;
      const int label = classes_.label_of((*labels)->data[i]);
      if (label < 0) continue;
      const float* row = b.data.data() + i * 4;
      candidates.push_back(Candidate{InputBox{row[0], row[1], row[2], row[3]}, label, score});
    }
    return candidates;
  }

 private:
  TorchvisionOutputNames names_;
  ClassIdMap classes_;
};

}  // namespace

void register_torchvision(FamilyRegistry& registry) {
  registry.add("torchvision", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    TorchvisionOutputNames names;
    for (auto [role, slot] : {std::pair{"boxes", &names.boxes}, std::pair{"labels", &names.labels},
                              std::pair{"scores", &names.scores}}) {
      auto name = spec_output_name(ctx.spec, role, role);
      if (!name) return name.error();
      *slot = *name;
    }
    auto classes = ClassIdMap::from_spec(ctx.spec, 1);
    if (!classes) return classes.error();
    auto nms = spec_nms(ctx.spec);
    if (!nms) return nms.error();
    return std::unique_ptr<Decoder>(
        std::make_unique<TorchvisionDecoder>(std::move(names), std::move(*classes), *nms));
  });
}

}  // namespace visearch
