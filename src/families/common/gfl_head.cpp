#include "families/common/gfl_head.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace visearch {
namespace {

// Expected bin index of a softmax over `bins` logits.
float distribution_expectation(const float* logits, int bins) {
  float max_logit = logits[0];
  for (int i = 1; i < bins; ++i) max_logit = std::max(max_logit, logits[i]);
  float sum = 0.F;
  float weighted = 0.F;
  for (int i = 0; i < bins; ++i) {
    const float e = std::exp(logits[i] - max_logit);
    sum += e;
    weighted += e * static_cast<float>(i);
  }
  return weighted / sum;
}

// Branch-free maximum that the compiler can vectorise (std::max_element cannot).
float max_score(const float* scores, int count) {
  float m = scores[0];
  for (int i = 1; i < count; ++i) m = scores[i] > m ? scores[i] : m;
  return m;
}

}  // namespace

Result<std::vector<Candidate>> GflHeadDecoder::decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const {
  const float score_threshold = params.score_threshold;
  std::vector<Candidate> candidates;
  const int bins = params_.reg_max + 1;
  const int num_classes = params_.num_classes;
  for (std::size_t level = 0; level < params_.strides.size(); ++level) {
    const int stride = params_.strides[level];
    const int grid_w = (params_.input.width + stride - 1) / stride;
    const int grid_h = (params_.input.height + stride - 1) / stride;
    const std::int64_t cells = static_cast<std::int64_t>(grid_w) * grid_h;
    const Tensor* cls = nullptr;
    const Tensor* reg = nullptr;
    if (!params_.score_outputs.empty()) {
      // Named score maps (required when K = 4 * bins makes the two shapes equal): the box map is the other
      // output of that level's shape.
      cls = find_output(outputs, params_.score_outputs[level]);
      for (const Tensor& t : outputs) {
        if (&t != cls && t.shape == std::vector<std::int64_t>{1, cells, 4LL * bins}) reg = &t;
      }
    } else {
      cls = find_output_by_shape(outputs, {1, cells, num_classes});
      reg = find_output_by_shape(outputs, {1, cells, 4LL * bins});
    }
    if (cls == nullptr || reg == nullptr) {
      return Unexpected{ErrorCode::kInference, "stride " + std::to_string(stride) + ": expected outputs [1," +
                                                   std::to_string(cells) + "," + std::to_string(num_classes) +
                                                   "] and [1," + std::to_string(cells) + "," +
                                                   std::to_string(4 * bins) + "], got " +
                                                   describe_outputs(outputs)};
    }
    const auto s = static_cast<float>(stride);
    for (int y = 0; y < grid_h; ++y) {
      for (int x = 0; x < grid_w; ++x) {
        const std::size_t cell = static_cast<std::size_t>(y) * grid_w + x;
        const float* scores = cls->data.data() + cell * num_classes;
        if (max_score(scores, num_classes) < score_threshold) continue;  // the common case, vectorised
        const float* best = std::max_element(scores, scores + num_classes);
        float ax = 0.F;
        float ay = 0.F;
        if (params_.anchor == AnchorRule::kCellCentre) {
          ax = (static_cast<float>(x) + 0.5F) * s;
          ay = (static_cast<float>(y) + 0.5F) * s;
        } else {
          ax = static_cast<float>(x) * s + (s - 1.F) / 2.F;
          ay = static_cast<float>(y) * s + (s - 1.F) / 2.F;
        }
        const float* dist = reg->data.data() + cell * 4 * bins;
        const float left = distribution_expectation(dist, bins) * s;
        const float top = distribution_expectation(dist + bins, bins) * s;
        const float right = distribution_expectation(dist + 2 * static_cast<std::ptrdiff_t>(bins), bins) * s;
        const float bottom = distribution_expectation(dist + 3 * static_cast<std::ptrdiff_t>(bins), bins) * s;
        candidates.push_back(Candidate{InputBox{ax - left, ay - top, ax + right, ay + bottom},
                                       static_cast<int>(best - scores), *best});
      }
    }
  }
  return candidates;
}

Result<GflHeadParams> gfl_params_from_spec(const ModelSpec& spec, const std::vector<int>& default_strides,
                                           AnchorRule anchor) {
  GflHeadParams params;
  params.strides = spec.decoder.value("strides", default_strides);
  params.reg_max = spec.decoder.value("reg_max", 7);
  params.num_classes = static_cast<int>(spec.labels.size());
  params.input = spec.preprocess.size;
  params.anchor = anchor;
  if (spec.decoder.contains("anchor")) {
    const std::string rule = spec.decoder["anchor"].get<std::string>();
    if (rule == "cell_centre") {
      params.anchor = AnchorRule::kCellCentre;
    } else if (rule == "legacy_nanodet") {
      params.anchor = AnchorRule::kLegacyNanoDet;
    } else {
      return Unexpected{ErrorCode::kInvalidSpec,
                        spec.source_path + ": decoder.anchor must be cell_centre or legacy_nanodet"};
    }
  }
  if (params.strides.empty() ||
      std::any_of(params.strides.begin(), params.strides.end(), [](int s) { return s <= 0; })) {
    return Unexpected{ErrorCode::kInvalidSpec,
                      spec.source_path + ": decoder.strides must be positive integers"};
  }
  if (params.reg_max < 1 || params.reg_max > 64) {
    return Unexpected{ErrorCode::kInvalidSpec, spec.source_path + ": decoder.reg_max must be in 1..64"};
  }
  if (spec.decoder.contains("score_outputs")) {
    const nlohmann::json& names = spec.decoder["score_outputs"];
    if (!names.is_array() || names.size() != params.strides.size() ||
        !std::all_of(names.begin(), names.end(), [](const nlohmann::json& n) { return n.is_string(); })) {
      return Unexpected{ErrorCode::kInvalidSpec,
                        spec.source_path + ": decoder.score_outputs must name one output per stride"};
    }
    params.score_outputs = names.get<std::vector<std::string>>();
  } else if (params.num_classes == 4 * (params.reg_max + 1)) {
    return Unexpected{ErrorCode::kInvalidSpec,
                      spec.source_path + ": with " + std::to_string(params.num_classes) +
                          " classes the score and box outputs have the same shape; name the score outputs in "
                          "decoder.score_outputs (one per stride)"};
  }
  return params;
}

}  // namespace visearch
