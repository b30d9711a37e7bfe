#include "families/tf_od_api/tf_od_api.h"

#include <algorithm>

#include "families/common/end_to_end.h"

namespace visearch {
namespace {

struct TfOutputNames {
  std::string boxes;
  std::string scores;
  std::string classes;
  std::string count;
};

class TfOdApiDecoder final : public EndToEndDecoder {
 public:
  TfOdApiDecoder(TfOutputNames names, ClassIdMap classes, bool nms)
      : EndToEndDecoder(nms), names_(std::move(names)), classes_(std::move(classes)) {}

  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override {
    auto boxes = named_output(outputs, names_.boxes, "tf_od_api");
    if (!boxes) return boxes.error();
    auto scores = named_output(outputs, names_.scores, "tf_od_api");
    if (!scores) return scores.error();
    auto classes = named_output(outputs, names_.classes, "tf_od_api");
    if (!classes) return classes.error();
    auto count = named_output(outputs, names_.count, "tf_od_api");
    if (!count) return count.error();
    const Tensor& b = **boxes;
    if (b.shape.size() != 3 || b.shape[0] != 1 || b.shape[2] != 4) {
      return Unexpected{ErrorCode::kInference,
                        "tf_od_api: expected " + names_.boxes + " [1,N,4], got " + describe_outputs(outputs)};
    }
    const auto n = static_cast<std::size_t>(b.shape[1]);
    if ((*scores)->data.size() != n || (*classes)->data.size() != n || (*count)->data.size() != 1) {
      return Unexpected{ErrorCode::kInference, "tf_od_api: expected " + names_.scores + " and " +
                                                   names_.classes + " [1,N] and " + names_.count +
                                                   " [1], got " + describe_outputs(outputs)};
    }
    // Compared as a float first: a count past N (or NaN, or huge) must not reach an integer cast.
    const float declared = (*count)->data[0];
    const std::size_t valid = !(declared > 0.F)                   ? std::size_t{0}
                              : declared >= static_cast<float>(n) ? n
                                                                  : static_cast<std::size_t>(declared);
    const auto w = static_cast<float>(params.input_size.width);
    const auto h = static_cast<float>(params.input_size.height);
    std::vector<Candidate> candidates;
    for (std::size_t i = 0; i < valid; ++i) {
      const float score = (*scores)->data[i];
      if (!(score >= params.score_threshold)) continue;
      const int label = classes_.label_of((*classes)->data[i]);
      if (label < 0) continue;
      const float* row = b.data.data() + i * 4;
      candidates.push_back(Candidate{InputBox{row[1] * w, row[0] * h, row[3] * w, row[2] * h}, label, score});
    }
    return candidates;
  }

 private:
  TfOutputNames names_;
  ClassIdMap classes_;
};

}  // namespace

void register_tf_od_api(FamilyRegistry& registry) {
  registry.add("tf_od_api", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    TfOutputNames names;
    for (auto [role, fallback, slot] : {std::tuple{"boxes", "detection_boxes", &names.boxes},
                                        std::tuple{"scores", "detection_scores", &names.scores},
                                        std::tuple{"classes", "detection_classes", &names.classes},
                                        std::tuple{"count", "num_detections", &names.count}}) {
      auto name = spec_output_name(ctx.spec, role, fallback);
      if (!name) return name.error();
      *slot = *name;
    }
    auto classes = ClassIdMap::from_spec(ctx.spec, 1);
    if (!classes) return classes.error();
    auto nms = spec_nms(ctx.spec);
    if (!nms) return nms.error();
    return std::unique_ptr<Decoder>(
        std::make_unique<TfOdApiDecoder>(std::move(names), std::move(*classes), *nms));
  });
}

}  // namespace visearch
