#include "onnx/onnx_file.h"

#include <cstring>
#include <fstream>
#include <utility>

namespace visearch::onnx_file {

Result<onnx::ModelProto> read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected{ErrorCode::kIo, "cannot open " + path};
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) {
    return Unexpected{ErrorCode::kInvalidSpec, path + ": not a readable ONNX model"};
  }
  if (model.graph().input_size() < 1 || model.graph().output_size() < 1) {
    return Unexpected{ErrorCode::kInvalidSpec, path + ": the ONNX graph has no input or output"};
  }
  hoist_constants(model);
  return model;
}

void hoist_constants(onnx::ModelProto& model) {
  onnx::GraphProto* g = model.mutable_graph();
  auto* nodes = g->mutable_node();
  int kept = 0;
  for (int i = 0; i < nodes->size(); ++i) {
    onnx::NodeProto& node = *nodes->Mutable(i);
    const bool hoist = node.op_type() == "Constant" && node.output_size() == 1 &&
                       node.attribute_size() == 1 && node.attribute(0).name() == "value" &&
                       node.attribute(0).has_t();
    if (hoist) {
      onnx::TensorProto* t = g->add_initializer();
      *t = node.attribute(0).t();
      t->set_name(node.output(0));
      continue;
    }
    if (kept != i) nodes->SwapElements(kept, i);
    ++kept;
  }
  while (nodes->size() > kept) nodes->RemoveLast();
}

std::string serialize(const onnx::ModelProto& model) {
  std::string bytes;
  model.SerializeToString(&bytes);
  return bytes;
}

Status write_model(const onnx::ModelProto& model, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Unexpected{ErrorCode::kIo, "cannot write " + path};
  const std::string bytes = serialize(model);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) return Unexpected{ErrorCode::kIo, "cannot write " + path + " (disk full?)"};
  return Ok{};
}

const onnx::TensorProto* find_initializer(const onnx::ModelProto& model, const std::string& name) {
  for (const onnx::TensorProto& t : model.graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

onnx::TensorProto* find_initializer(onnx::ModelProto& model, const std::string& name) {
  for (onnx::TensorProto& t : *model.mutable_graph()->mutable_initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

std::int64_t element_count(const onnx::TensorProto& tensor) {
  std::int64_t count = 1;
  for (const std::int64_t d : tensor.dims()) count *= d;
  return count;
}

Result<std::vector<float>> float_values(const onnx::TensorProto& t) {
  if (t.data_type() != onnx::TensorProto::FLOAT) {
    return Unexpected{ErrorCode::kInvalidSpec, "ONNX initializer '" + t.name() + "' is not float"};
  }
  const std::int64_t count = element_count(t);
  std::vector<float> out;
  if (t.has_raw_data()) {
    if (count < 0 || t.raw_data().size() != static_cast<std::size_t>(count) * sizeof(float)) {
      return Unexpected{ErrorCode::kInvalidSpec, "ONNX initializer '" + t.name() + "' has a wrong byte size"};
    }
    out.resize(static_cast<std::size_t>(count));
    if (count > 0) std::memcpy(out.data(), t.raw_data().data(), t.raw_data().size());
  } else {
    if (t.float_data_size() != count) {
      return Unexpected{ErrorCode::kInvalidSpec,
                        "ONNX initializer '" + t.name() + "' has a wrong element count"};
    }
    out.assign(t.float_data().begin(), t.float_data().end());
  }
  return out;
}

void set_raw(onnx::TensorProto& tensor, int data_type, const std::vector<std::int64_t>& dims,
             const void* data, std::size_t bytes) {
  tensor.set_data_type(data_type);
  tensor.clear_dims();
  for (const std::int64_t d : dims) tensor.add_dims(d);
  tensor.clear_float_data();
  tensor.clear_int32_data();
  tensor.clear_int64_data();
  tensor.set_raw_data(bytes == 0 ? std::string() : std::string(static_cast<const char*>(data), bytes));
}

}  // namespace visearch::onnx_file
