// OnnxGraph: an ONNX model file held as its protobuf, with the float initializers exposed as libtorch
// tensors. Training reads the shipped model's weights from here and writes trained weights back into the
// same graph (same node names, same pre/post-processing contract), so `detect`, `eval` and `serve` load
// the result like any shipped model.
//
// Thread-safety: a plain value; not safe for concurrent mutation.
// Failure modes: kIo for unreadable/unwritable files, kInvalidSpec for a file that is not an ONNX model
// or an initializer of an unexpected type.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/result.h"

namespace onnx {
class ModelProto;
}

namespace visearch::train {

class OnnxGraph {
 public:
  OnnxGraph();
  ~OnnxGraph();
  OnnxGraph(const OnnxGraph& other);
  OnnxGraph& operator=(const OnnxGraph& other);
  OnnxGraph(OnnxGraph&&) noexcept;
  OnnxGraph& operator=(OnnxGraph&&) noexcept;

  // Loads a model; tensor-valued Constant nodes become initializers of the same name (the same graph for
  // ONNX Runtime), so that weights some exporters keep in Constant nodes (PaddlePaddle's conv biases) are
  // read, trained and written back like any other initializer.
  static Result<OnnxGraph> load(const std::string& path);

  [[nodiscard]] const onnx::ModelProto& proto() const { return *model_; }
  onnx::ModelProto& mutable_proto() { return *model_; }

  [[nodiscard]] bool has_initializer(const std::string& name) const;
  // A float initializer as a (copied) float tensor; kInvalidSpec when absent or not float.
  [[nodiscard]] Result<at::Tensor> float_initializer(const std::string& name) const;
  // An int64 initializer's values; kInvalidSpec when absent or not int64.
  [[nodiscard]] Result<std::vector<std::int64_t>> int_initializer(const std::string& name) const;
  // Replaces (or adds) an initializer with the tensor's shape and float data.
  void set_float_initializer(const std::string& name, const at::Tensor& value);
  void set_int_initializer(const std::string& name, const std::vector<std::int64_t>& values);
  // Sets dimension `dim` of graph output `output` (e.g. the class count in [1, N, 5+K]).
  Status set_output_dim(const std::string& output, int dim, std::int64_t value);

  // Sets the spatial size (dims 2, 3) of the graph's first NCHW input.
  void set_input_hw(std::int64_t height, std::int64_t width);
  [[nodiscard]] std::string output_name(int index) const;

  [[nodiscard]] std::string serialize() const;
  // Writes the model to `path` (the caller makes the folder's publication atomic).
  [[nodiscard]] Status save(const std::string& path) const;

 private:
  void hoist_constants();

  std::unique_ptr<onnx::ModelProto> model_;
};

}  // namespace visearch::train
