// ONNX model files as their protobuf (Debian's libonnx-dev classes), without any engine: reading with the
// tensor-valued Constant nodes hoisted into initializers, writing, and initializer look-up and float values.
// Training (src/train/onnx_graph) and the INT8 quantizer (src/quantize) both edit graphs through this.
//
// Model files are trusted configuration in visearch (like model specs): they are read with protobuf's own
// parser, and what a graph means is checked by ONNX Runtime when it is loaded.
//
// Thread-safety: pure functions over the caller's protos.
// Failure modes: kIo for unreadable/unwritable files, kInvalidSpec for a file that is not an ONNX model, a
// graph without input or output, or an initializer of an unexpected type or size.
#pragma once

#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/result.h"

namespace visearch::onnx_file {

// Reads a model; tensor-valued Constant nodes become initializers of the same name (the same graph for
// ONNX Runtime), so that weights some exporters keep in Constant nodes (PaddlePaddle's conv biases) are
// found like any other initializer.
Result<onnx::ModelProto> read_model(const std::string& path);

// The Constant -> initializer step of read_model() alone.
void hoist_constants(onnx::ModelProto& model);

std::string serialize(const onnx::ModelProto& model);
// Writes the model to `path` (the caller makes a folder's publication atomic).
Status write_model(const onnx::ModelProto& model, const std::string& path);

const onnx::TensorProto* find_initializer(const onnx::ModelProto& model, const std::string& name);
onnx::TensorProto* find_initializer(onnx::ModelProto& model, const std::string& name);

// Element count of a tensor's dims (1 for a scalar).
std::int64_t element_count(const onnx::TensorProto& tensor);
// A float initializer's values (raw_data or float_data); kInvalidSpec when not float or the size is wrong.
Result<std::vector<float>> float_values(const onnx::TensorProto& tensor);
// Sets a tensor's type, dims and raw data (little-endian host order, as ONNX stores raw_data).
void set_raw(onnx::TensorProto& tensor, int data_type, const std::vector<std::int64_t>& dims,
             const void* data, std::size_t bytes);

}  // namespace visearch::onnx_file
