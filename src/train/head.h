// The trainable side of a detector family: which graph tensors are its raw predictions, its loss, how its
// class rows are resized for a new label set, and how the ONNX graph is patched for K classes on export.
// One implementation per family (yolox_head.cpp, picodet_head.cpp); make_head() picks it by the spec's
// family name, and the spec's "train" section says where the prediction convs are (data, not code).
//
// Thread-safety: const methods are reentrant.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/result.h"
#include "model/model_spec.h"
#include "train/graph_net.h"
#include "train/onnx_graph.h"
#include "train/simota.h"

namespace visearch::train {

struct LossParts {
  at::Tensor total;  // scalar, differentiable
  double box = 0;    // per foreground anchor
  double obj = 0;    // objectness (YOLOX); 0 for heads without one
  double cls = 0;
  double dfl = 0;  // distribution focal loss (PicoDet); 0 for heads without one
  std::int64_t foreground = 0;
};

class DetectionHead {
 public:
  virtual ~DetectionHead() = default;
  // Tensors to compute with GraphNet::run (raw, pre-activation predictions).
  [[nodiscard]] virtual const std::vector<std::string>& outputs() const = 0;
  // `targets`: per image, boxes in input pixels with training class ids.
  [[nodiscard]] virtual Result<LossParts> loss(const std::vector<at::Tensor>& outputs,
                                               const std::vector<std::vector<GtBox>>& targets) const = 0;
  // Replaces the class rows with `num_classes` rows; row i starts from base row `base_row[i]` when >= 0
  // (the base model already knows that class), else from a small random init (prior probability 0.01).
  [[nodiscard]] virtual Status resize_classes(GraphNet& net, const std::vector<int>& base_row,
                                              std::uint64_t seed) const = 0;
  // Patches shape constants and declared output shapes of the base graph for `num_classes` classes and an
  // input of `width` x `height`.
  [[nodiscard]] virtual Status patch_graph(OnnxGraph& graph, int num_classes, int width,
                                           int height) const = 0;
  // Fields the trained model's spec adds to its "decoder" section, read from the base graph (PicoDet: the
  // score outputs by name, since with 32 classes they have the shape of the box outputs).
  [[nodiscard]] virtual nlohmann::json decoder_fields(const OnnxGraph& /*base_graph*/) const {
    return nlohmann::json::object();
  }
  // Names of the class-row parameters (their shapes change with the class count).
  [[nodiscard]] virtual std::vector<std::string> class_parameters() const = 0;
};

// kInvalidSpec when the family cannot be trained or its spec has no usable "train" section.
Result<std::unique_ptr<DetectionHead>> make_head(const ModelSpec& base, const GraphNet& net);

// Shared by the heads.
// A new weight [rows, C, kh, kw] and bias [rows] for a prediction conv whose first rows are classes: drawn
// N(0, 0.01) with the bias of a 0.01 prior probability, and class row i (i < base_row.size()) copied from
// old row base_row[i] when that is one of the old conv's first `base_classes` rows. Rows past the classes
// are the caller's to fill (PicoDet's box rows).
std::pair<at::Tensor, at::Tensor> init_class_rows(const at::Tensor& old_weight, const at::Tensor& old_bias,
                                                  const std::vector<int>& base_row, std::int64_t base_classes,
                                                  std::int64_t rows, at::Generator& gen);
// Sets dimension 1 of every Reshape shape constant that has `from` there (and `rank` values; 0 = any of at
// least 2) to `to`; returns how many it changed.
int patch_reshape_dim1(OnnxGraph& graph, std::int64_t from, std::int64_t to, std::size_t rank);

// The families' constructors, used by make_head().
Result<std::unique_ptr<DetectionHead>> make_yolox_head(const ModelSpec& base, const GraphNet& net);
Result<std::unique_ptr<DetectionHead>> make_picodet_head(const ModelSpec& base, const GraphNet& net);

}  // namespace visearch::train
