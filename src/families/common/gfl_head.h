// Shared decoding for GFL-style heads (PicoDet, NanoDet): per level, one
// class-score tensor and one box-distribution tensor.
//
//   cls_l : [1, N_l, C]             sigmoid scores, row = y * grid_w + x
//   box_l : [1, N_l, 4 * (R + 1)]   logits; 4 groups (left, top, right, bottom) of R+1 bins
//
//   distance_side = stride * sum_i i * softmax(group)_i
//   box = (ax - d_left, ay - d_top, ax + d_right, ay + d_bottom)      [input pixels]
//
// The anchor point of cell (x, y) is family specific (see AnchorRule).
// Tensors are matched by shape, never by position; when the class count equals 4 * (R + 1) the two shapes
// coincide and the spec names the score outputs (decoder.score_outputs, one per stride).
#pragma once

#include <string>
#include <vector>

#include "model/family_registry.h"

namespace visearch {

enum class AnchorRule {
  kCellCentre,    // ((x + 0.5) * s, (y + 0.5) * s)          PicoDet
  kLegacyNanoDet  // (x * s + (s - 1) / 2, y * s + (s - 1) / 2) NanoDet (legacy)
};

struct GflHeadParams {
  std::vector<int> strides;
  int reg_max = 7;
  int num_classes = 80;
  Size input;
  AnchorRule anchor = AnchorRule::kCellCentre;
  std::vector<std::string> score_outputs;  // per stride; empty = match by shape
};

class GflHeadDecoder final : public Decoder {
 public:
  explicit GflHeadDecoder(GflHeadParams params) : params_(std::move(params)) {}
  [[nodiscard]] Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                      const DecodeParams& params) const override;

 private:
  GflHeadParams params_;
};

// Reads "strides", "reg_max", "anchor" (cell_centre / legacy_nanodet) and "score_outputs" from spec.decoder.
Result<GflHeadParams> gfl_params_from_spec(const ModelSpec& spec, const std::vector<int>& default_strides,
                                           AnchorRule anchor);

}  // namespace visearch
