// GraphNet: runs an ONNX detection graph in libtorch so that it can be trained.
//
// Why an interpreter and not a hand-written network per family: the shipped graphs are the contract
// (pre-processing, output layout, BatchNorm already folded into every conv). Executing the graph node by
// node with the initializers as trainable tensors gives a forward pass identical to ONNX Runtime's by
// construction, loads every weight by its name without a mapping table, serves any family whose ops are
// supported, and writing back is "replace the initializers". A family only declares (in its model spec's
// "train" section) where the backbone and neck end and which convs are its prediction heads.
//
// Sections: a node is "backbone" when the declared backbone outputs depend on it, "neck" when the declared
// neck outputs do (and it is not backbone), else "head". Frozen sections run without autograd.
//
// Thread-safety: run() is const and may be called concurrently; parameters are shared tensors.
// Failure modes: kInvalidSpec for an unsupported op or a layout naming unknown tensors.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/result.h"
#include "train/onnx_graph.h"

namespace visearch::train {

enum class Section { kBackbone = 0, kNeck = 1, kHead = 2 };

struct GraphLayout {
  std::vector<std::string> backbone_outputs;  // tensor names
  std::vector<std::string> neck_outputs;      // tensor names
};

struct GraphNode {
  std::string op;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  nlohmann::json attrs = nlohmann::json::object();  // ints, floats, strings and int lists
  Section section = Section::kHead;
};

class GraphNet {
 public:
  static Result<GraphNet> build(const OnnxGraph& graph, const GraphLayout& layout);

  // Runs the nodes needed for `outputs` on `input` (N x C x H x W) and returns those tensors.
  [[nodiscard]] Result<std::vector<at::Tensor>> run(const at::Tensor& input,
                                                    const std::vector<std::string>& outputs) const;

  // Trainable tensors by initializer name (Conv weights and biases).
  [[nodiscard]] const std::map<std::string, at::Tensor>& parameters() const { return params_; }
  std::map<std::string, at::Tensor>& mutable_parameters() { return params_; }
  [[nodiscard]] Section section_of_parameter(const std::string& name) const;
  // Output tensor name of the Conv whose weight initializer is `weight_name`.
  [[nodiscard]] Result<std::string> conv_output(const std::string& weight_name) const;
  // Weight initializer of the first Conv that reads the graph input (through slices/concats).
  [[nodiscard]] const std::string& stem_weight() const { return stem_weight_; }
  // Freezes every parameter of the sections below `first_trained`.
  void freeze_below(Section first_trained);
  [[nodiscard]] Section first_trained() const { return first_trained_; }
  [[nodiscard]] const std::string& input_name() const { return input_name_; }
  [[nodiscard]] const std::vector<GraphNode>& nodes() const { return nodes_; }

 private:
  [[nodiscard]] Result<at::Tensor> run_node(const GraphNode& node, const std::vector<at::Tensor>& in) const;
  [[nodiscard]] Result<std::vector<at::Tensor>> run_split(const GraphNode& node,
                                                          const std::vector<at::Tensor>& in) const;
  [[nodiscard]] const at::Tensor* lookup(const std::string& name) const;

  std::vector<GraphNode> nodes_;
  std::map<std::string, at::Tensor> params_;
  std::map<std::string, at::Tensor> constants_;
  std::map<std::string, Section> param_section_;
  std::string input_name_;
  std::string stem_weight_;
  Section first_trained_ = Section::kBackbone;
};

}  // namespace visearch::train
