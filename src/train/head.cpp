#include "train/head.h"

#include <onnx/onnx_pb.h>
#include <cmath>

namespace visearch::train {

std::pair<at::Tensor, at::Tensor> init_class_rows(const at::Tensor& old_weight, const at::Tensor& old_bias,
                                                  const std::vector<int>& base_row, std::int64_t base_classes,
                                                  std::int64_t rows, at::Generator& gen) {
  const double prior_bias = -std::log((1.0 - 0.01) / 0.01);
  at::Tensor w =
      at::normal(0.0, 0.01, {rows, old_weight.size(1), old_weight.size(2), old_weight.size(3)}, gen);
  at::Tensor bias = at::full({rows}, prior_bias, at::kFloat);
  for (std::size_t i = 0; i < base_row.size(); ++i) {
    const int row = base_row[i];
    if (row >= 0 && row < base_classes) {
      w[static_cast<std::int64_t>(i)].copy_(old_weight[row]);
      bias[static_cast<std::int64_t>(i)].copy_(old_bias[row]);
    }
  }
  return {w, bias};
}

int patch_reshape_dim1(OnnxGraph& graph, std::int64_t from, std::int64_t to, std::size_t rank) {
  std::vector<std::string> shape_inputs;
  for (const onnx::NodeProto& node : graph.proto().graph().node()) {
    if (node.op_type() == "Reshape" && node.input_size() > 1) shape_inputs.push_back(node.input(1));
  }
  int patched = 0;
  for (const std::string& name : shape_inputs) {
    auto values = graph.int_initializer(name);
    if (!values || values->size() < 2 || (rank != 0 && values->size() != rank) || (*values)[1] != from)
      continue;
    (*values)[1] = to;
    graph.set_int_initializer(name, *values);
    ++patched;
  }
  return patched;
}

Result<std::unique_ptr<DetectionHead>> make_head(const ModelSpec& base, const GraphNet& net) {
  if (base.family == "yolox") return make_yolox_head(base, net);
  if (base.family == "picodet") return make_picodet_head(base, net);
  return Unexpected{ErrorCode::kInvalidSpec,
                    "model '" + base.name + "' (family " + base.family +
                        ") cannot be fine-tuned; the trainable families are yolox (--base yolox_nano) and "
                        "picodet (--base picodet_s_416 or picodet_s_320)"};
}

}  // namespace visearch::train
