#include "train/onnx_graph.h"

#include <cstring>
#include <utility>

#include <onnx/onnx_pb.h>

#include "onnx/onnx_file.h"

namespace visearch::train {
namespace {

using onnx_file::find_initializer;

}  // namespace

OnnxGraph::OnnxGraph() : model_(std::make_unique<onnx::ModelProto>()) {}
OnnxGraph::~OnnxGraph() = default;
OnnxGraph::OnnxGraph(const OnnxGraph& other) : model_(std::make_unique<onnx::ModelProto>(*other.model_)) {}
OnnxGraph& OnnxGraph::operator=(const OnnxGraph& other) {
  if (this != &other) model_ = std::make_unique<onnx::ModelProto>(*other.model_);
  return *this;
}
OnnxGraph::OnnxGraph(OnnxGraph&&) noexcept = default;
OnnxGraph& OnnxGraph::operator=(OnnxGraph&&) noexcept = default;

Result<OnnxGraph> OnnxGraph::load(const std::string& path) {
  auto model = onnx_file::read_model(path);  // hoists the Constant nodes
  if (!model) return model.error();
  OnnxGraph graph;
  *graph.model_ = std::move(*model);
  return graph;
}

void OnnxGraph::hoist_constants() {
  onnx_file::hoist_constants(*model_);
}

bool OnnxGraph::has_initializer(const std::string& name) const {
  return find_initializer(std::as_const(*model_), name) != nullptr;
}

Result<at::Tensor> OnnxGraph::float_initializer(const std::string& name) const {
  const onnx::TensorProto* t = find_initializer(std::as_const(*model_), name);
  if (t == nullptr) return Unexpected{ErrorCode::kInvalidSpec, "ONNX initializer '" + name + "' not found"};
  if (t->data_type() != onnx::TensorProto::FLOAT) {
    return Unexpected{ErrorCode::kInvalidSpec, "ONNX initializer '" + name + "' is not float"};
  }
  std::vector<std::int64_t> dims(t->dims().begin(), t->dims().end());
  std::int64_t count = 1;
  for (std::int64_t d : dims) count *= d;
  at::Tensor out = at::empty(dims, at::kFloat);
  if (t->has_raw_data()) {
    if (t->raw_data().size() != static_cast<std::size_t>(count) * sizeof(float)) {
      return Unexpected{ErrorCode::kInvalidSpec, "ONNX initializer '" + name + "' has a wrong byte size"};
    }
    if (count > 0) std::memcpy(out.data_ptr<float>(), t->raw_data().data(), t->raw_data().size());
  } else {
    if (t->float_data_size() != count) {
      return Unexpected{ErrorCode::kInvalidSpec, "ONNX initializer '" + name + "' has a wrong element count"};
    }
    if (count > 0) std::copy(t->float_data().begin(), t->float_data().end(), out.data_ptr<float>());
  }
  return out;
}

Result<std::vector<std::int64_t>> OnnxGraph::int_initializer(const std::string& name) const {
  const onnx::TensorProto* t = find_initializer(std::as_const(*model_), name);
  if (t == nullptr) return Unexpected{ErrorCode::kInvalidSpec, "ONNX initializer '" + name + "' not found"};
  if (t->data_type() != onnx::TensorProto::INT64) {
    return Unexpected{ErrorCode::kInvalidSpec, "ONNX initializer '" + name + "' is not int64"};
  }
  std::vector<std::int64_t> values;
  if (t->has_raw_data()) {
    values.resize(t->raw_data().size() / sizeof(std::int64_t));
    if (!values.empty())
      std::memcpy(values.data(), t->raw_data().data(), values.size() * sizeof(std::int64_t));
  } else {
    values.assign(t->int64_data().begin(), t->int64_data().end());
  }
  return values;
}

void OnnxGraph::set_float_initializer(const std::string& name, const at::Tensor& value) {
  onnx::TensorProto* t = find_initializer(*model_, name);
  if (t == nullptr) {
    t = model_->mutable_graph()->add_initializer();
    t->set_name(name);
  }
  const at::Tensor data = value.detach().to(at::kFloat).contiguous();
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->clear_dims();
  for (std::int64_t d : data.sizes()) t->add_dims(d);
  t->clear_float_data();
  if (data.numel() == 0) {
    t->set_raw_data(std::string());
  } else {
    t->set_raw_data(std::string(reinterpret_cast<const char*>(data.data_ptr<float>()),  // NOLINT
                                static_cast<std::size_t>(data.numel()) * sizeof(float)));
  }
}

void OnnxGraph::set_int_initializer(const std::string& name, const std::vector<std::int64_t>& values) {
  onnx::TensorProto* t = find_initializer(*model_, name);
  if (t == nullptr) {
    t = model_->mutable_graph()->add_initializer();
    t->set_name(name);
  }
  t->set_data_type(onnx::TensorProto::INT64);
  t->clear_dims();
  t->add_dims(static_cast<std::int64_t>(values.size()));
  t->clear_int64_data();
  t->set_raw_data(values.empty() ? std::string()
                                 : std::string(reinterpret_cast<const char*>(values.data()),  // NOLINT
                                               values.size() * sizeof(std::int64_t)));
}

Status OnnxGraph::set_output_dim(const std::string& output, int dim, std::int64_t value) {
  for (onnx::ValueInfoProto& out : *model_->mutable_graph()->mutable_output()) {
    if (out.name() != output) continue;
    auto* shape = out.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (dim < 0 || dim >= shape->dim_size()) {
      return Unexpected{ErrorCode::kInvalidSpec,
                        "ONNX output '" + output + "' has no dimension " + std::to_string(dim)};
    }
    shape->mutable_dim(dim)->set_dim_value(value);
    return Ok{};
  }
  return Unexpected{ErrorCode::kInvalidSpec, "ONNX output '" + output + "' not found"};
}

void OnnxGraph::set_input_hw(std::int64_t height, std::int64_t width) {
  auto* shape =
      model_->mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  if (shape->dim_size() != 4) return;
  shape->mutable_dim(2)->set_dim_value(height);
  shape->mutable_dim(3)->set_dim_value(width);
}

std::string OnnxGraph::output_name(int index) const {
  return index < model_->graph().output_size() ? model_->graph().output(index).name() : std::string();
}

std::string OnnxGraph::serialize() const {
  return onnx_file::serialize(*model_);
}

Status OnnxGraph::save(const std::string& path) const {
  return onnx_file::write_model(*model_, path);
}

}  // namespace visearch::train
