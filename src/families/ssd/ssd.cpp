#include "families/ssd/ssd.h"

#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

namespace visearch {
namespace {

struct Anchor {
  float yc;
  float xc;
  float h;
  float w;
};

Result<std::vector<Anchor>> read_anchors(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Unexpected{ErrorCode::kModelMissing, "cannot open anchors file " + path};
  std::vector<Anchor> anchors;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Anchor a{};
    if (!(fields >> a.yc >> a.xc >> a.h >> a.w)) {
      return Unexpected{ErrorCode::kInvalidSpec,
                        path + ":" + std::to_string(line_no) + ": expected 4 numbers"};
    }
    anchors.push_back(a);
  }
  return anchors;
}

class SsdDecoder final : public Decoder {
 public:
  SsdDecoder(std::vector<Anchor> anchors, std::vector<int> score_columns, std::array<float, 4> scales,
             Size input, std::string boxes_name, std::string scores_name)
      : anchors_(std::move(anchors)),
        score_columns_(std::move(score_columns)),
        scales_(scales),
        input_(input),
        boxes_name_(std::move(boxes_name)),
        scores_name_(std::move(scores_name)) {}

  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override {
    const float score_threshold = params.score_threshold;
    const auto count = static_cast<std::int64_t>(anchors_.size());
    const Tensor* boxes = find_output(outputs, boxes_name_);
    if (boxes == nullptr) boxes = find_output_by_shape(outputs, {1, count, 4});
    const Tensor* scores = find_output(outputs, scores_name_);
    if (boxes == nullptr || scores == nullptr || boxes->shape != std::vector<std::int64_t>{1, count, 4} ||
        scores->shape.size() != 3 || scores->shape[1] != count) {
      return Unexpected{ErrorCode::kInference, "SSD: expected outputs " + boxes_name_ + "[1," +
                                                   std::to_string(count) + ",4] and " + scores_name_ + "[1," +
                                                   std::to_string(count) + ",K], got " +
                                                   describe_outputs(outputs)};
    }
    const auto columns = static_cast<int>(scores->shape[2]);
    for (int col : score_columns_) {
      if (col >= columns) return Unexpected{ErrorCode::kInference, "SSD: score column out of range"};
    }
    const auto iw = static_cast<float>(input_.width);
    const auto ih = static_cast<float>(input_.height);
    std::vector<Candidate> candidates;
    for (std::size_t i = 0; i < anchors_.size(); ++i) {
      const float* row = scores->data.data() + i * static_cast<std::size_t>(columns);
      int best_label = -1;
      float best = -1.F;
      for (std::size_t label = 0; label < score_columns_.size(); ++label) {
        const float p = row[score_columns_[label]];
        if (p > best) {
          best = p;
          best_label = static_cast<int>(label);
        }
      }
      if (best < score_threshold) continue;
      const Anchor& a = anchors_[i];
      const float* enc = boxes->data.data() + i * 4;
      const float yc = enc[0] / scales_[0] * a.h + a.yc;
      const float xc = enc[1] / scales_[1] * a.w + a.xc;
      const float h = std::exp(enc[2] / scales_[2]) * a.h;
      const float w = std::exp(enc[3] / scales_[3]) * a.w;
      candidates.push_back(Candidate{
          InputBox{(xc - w / 2.F) * iw, (yc - h / 2.F) * ih, (xc + w / 2.F) * iw, (yc + h / 2.F) * ih},
          best_label, best});
    }
    return candidates;
  }

 private:
  std::vector<Anchor> anchors_;
  std::vector<int> score_columns_;
  std::array<float, 4> scales_;
  Size input_;
  std::string boxes_name_;
  std::string scores_name_;
};

}  // namespace

void register_ssd(FamilyRegistry& registry) {
  registry.add("ssd", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    const ModelSpec& spec = ctx.spec;
    auto anchors_ref = spec.extra_files.find("anchors");
    if (anchors_ref == spec.extra_files.end()) {
      return Unexpected{ErrorCode::kInvalidSpec, spec.source_path + ": the ssd family needs files.anchors"};
    }
    auto anchors_file = ctx.repository.resolve(anchors_ref->second);
    if (!anchors_file) return anchors_file.error();
    auto anchors = read_anchors(anchors_file->path);
    if (!anchors) return anchors.error();
    std::vector<int> columns;
    if (spec.decoder.contains("score_columns")) {
      columns = spec.decoder["score_columns"].get<std::vector<int>>();
    } else {  // column 0 is background, label i at column i + 1
      for (std::size_t i = 0; i < spec.labels.size(); ++i) columns.push_back(static_cast<int>(i) + 1);
    }
    if (columns.size() != spec.labels.size()) {
      return Unexpected{ErrorCode::kInvalidSpec,
                        spec.source_path + ": decoder.score_columns must have one entry per label"};
    }
    const auto scales = spec.decoder.value("box_scales", std::array<float, 4>{10.F, 10.F, 5.F, 5.F});
    return std::unique_ptr<Decoder>(
        std::make_unique<SsdDecoder>(std::move(*anchors), std::move(columns), scales, spec.preprocess.size,
                                     spec.decoder.value("boxes_output", std::string("box_encodings")),
                                     spec.decoder.value("scores_output", std::string("class_scores"))));
  });
}

}  // namespace visearch
