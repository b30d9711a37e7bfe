#include "families/detr/detr.h"

#include <cmath>
#include <optional>

#include "families/common/end_to_end.h"

namespace visearch {
namespace {

struct DetrLayout {
  std::string predictions;  // one output; "" = the only [1, Q, >4] output
  std::string boxes;        // two outputs, both named
  std::string scores;
  bool cxcywh = true;
  bool normalized = true;
  bool sigmoid = false;
};

class DetrDecoder final : public EndToEndDecoder {
 public:
  DetrDecoder(DetrLayout layout, ClassIdMap classes, bool nms)
      : EndToEndDecoder(nms), layout_(std::move(layout)), classes_(std::move(classes)) {
    for (int label = 0; label < classes_.num_labels(); ++label) {
      max_column_ = std::max(max_column_, classes_.graph_id_of(label));
    }
  }

  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override {
    const Tensor* boxes = nullptr;
    const Tensor* scores = nullptr;
    std::size_t box_stride = 0;
    std::size_t score_stride = 0;
    std::size_t score_offset = 0;
    std::size_t queries = 0;
    if (layout_.boxes.empty()) {
      const Tensor* out = nullptr;
      if (layout_.predictions.empty()) {
        for (const Tensor& t : outputs) {
          if (t.shape.size() == 3 && t.shape[0] == 1 && t.shape[2] > 4) {
            if (out != nullptr) {
              return Unexpected{ErrorCode::kInference, "detr: several [1,Q,4+C] outputs (" +
                                                           describe_outputs(outputs) +
                                                           "); name one in decoder.outputs.predictions"};
            }
            out = &t;
          }
        }
        if (out == nullptr) {
          return Unexpected{ErrorCode::kInference,
                            "detr: expected an output [1,Q,4+C], got " + describe_outputs(outputs)};
        }
      } else {
        auto named = named_output(outputs, layout_.predictions, "detr");
        if (!named) return named.error();
        out = *named;
        if (out->shape.size() != 3 || out->shape[0] != 1 || out->shape[2] <= 4) {
          return Unexpected{ErrorCode::kInference, "detr: expected " + layout_.predictions +
                                                       " [1,Q,4+C], got " + describe_outputs(outputs)};
        }
      }
      boxes = out;
      scores = out;
      queries = static_cast<std::size_t>(out->shape[1]);
      box_stride = score_stride = static_cast<std::size_t>(out->shape[2]);
      score_offset = 4;
    } else {
      auto b = named_output(outputs, layout_.boxes, "detr");
      if (!b) return b.error();
      auto s = named_output(outputs, layout_.scores, "detr");
      if (!s) return s.error();
      boxes = *b;
      scores = *s;
      if (boxes->shape.size() != 3 || boxes->shape[0] != 1 || boxes->shape[2] != 4 ||
          scores->shape.size() != 3 || scores->shape[0] != 1 || scores->shape[1] != boxes->shape[1]) {
        return Unexpected{ErrorCode::kInference, "detr: expected " + layout_.boxes + " [1,Q,4] and " +
                                                     layout_.scores + " [1,Q,C], got " +
                                                     describe_outputs(outputs)};
      }
      queries = static_cast<std::size_t>(boxes->shape[1]);
      box_stride = 4;
      score_stride = static_cast<std::size_t>(scores->shape[2]);
    }
    if (static_cast<std::size_t>(max_column_) >= score_stride - score_offset) {
      return Unexpected{ErrorCode::kInference, "detr: the spec's labels read score column " +
                                                   std::to_string(max_column_) + " but the graph gives " +
                                                   std::to_string(score_stride - score_offset) + " classes"};
    }
    const float sx = layout_.normalized ? static_cast<float>(params.input_size.width) : 1.F;
    const float sy = layout_.normalized ? static_cast<float>(params.input_size.height) : 1.F;
    std::vector<Candidate> candidates;
    for (std::size_t q = 0; q < queries; ++q) {
      const float* score_row = scores->data.data() + q * score_stride + score_offset;
      const float* box = boxes->data.data() + q * box_stride;
      std::optional<InputBox> input_box;
      for (int label = 0; label < classes_.num_labels(); ++label) {
        float score = score_row[classes_.graph_id_of(label)];
        if (layout_.sigmoid) score = 1.F / (1.F + std::exp(-score));
        if (!(score >= params.score_threshold)) continue;
        if (!input_box) {
          if (layout_.cxcywh) {
            const float hw = box[2] / 2.F;
            const float hh = box[3] / 2.F;
            input_box =
                InputBox{(box[0] - hw) * sx, (box[1] - hh) * sy, (box[0] + hw) * sx, (box[1] + hh) * sy};
          } else {
            input_box = InputBox{box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy};
          }
        }
        candidates.push_back(Candidate{*input_box, label, score});
      }
    }
    return candidates;
  }

 private:
  DetrLayout layout_;
  ClassIdMap classes_;
  int max_column_ = 0;
};

Result<std::unique_ptr<Decoder>> make_detr(const DecoderContext& ctx) {
  const ModelSpec& spec = ctx.spec;
  const auto bad = [&](const std::string& what) {
    return Unexpected{ErrorCode::kInvalidSpec, spec.source_path + ": decoder." + what};
  };
  DetrLayout layout;
  auto boxes = spec_output_name(spec, "boxes", "");
  if (!boxes) return boxes.error();
  auto scores = spec_output_name(spec, "scores", "");
  if (!scores) return scores.error();
  auto predictions = spec_output_name(spec, "predictions", "");
  if (!predictions) return predictions.error();
  if (boxes->empty() != scores->empty()) return bad("outputs must name both boxes and scores, or neither");
  if (!boxes->empty() && !predictions->empty()) return bad("outputs: predictions, or boxes and scores");
  layout.boxes = *boxes;
  layout.scores = *scores;
  layout.predictions = *predictions;
  const std::string format = spec.decoder.value("box_format", std::string("cxcywh"));
  if (format != "cxcywh" && format != "xyxy") return bad("box_format must be cxcywh or xyxy");
  layout.cxcywh = format == "cxcywh";
  layout.normalized = spec.decoder.value("normalized", true);
  const std::string activation = spec.decoder.value("score_activation", std::string("none"));
  if (activation != "none" && activation != "sigmoid") return bad("score_activation must be none or sigmoid");
  layout.sigmoid = activation == "sigmoid";
  auto classes = ClassIdMap::from_spec(spec, 0);
  if (!classes) return classes.error();
  auto nms = spec_nms(spec);
  if (!nms) return nms.error();
  return std::unique_ptr<Decoder>(
      std::make_unique<DetrDecoder>(std::move(layout), std::move(*classes), *nms));
}

}  // namespace

void register_detr(FamilyRegistry& registry) {
  registry.add("detr", make_detr);
}

}  // namespace visearch
