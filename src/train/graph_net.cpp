#include "train/graph_net.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include <ATen/ops/constant_pad_nd.h>
#include <c10/core/GradMode.h>
#include <onnx/onnx_pb.h>

namespace visearch::train {
namespace {

nlohmann::json attributes_of(const onnx::NodeProto& node) {
  nlohmann::json attrs = nlohmann::json::object();
  for (const onnx::AttributeProto& a : node.attribute()) {
    switch (a.type()) {
      case onnx::AttributeProto::INT:
        attrs[a.name()] = a.i();
        break;
      case onnx::AttributeProto::FLOAT:
        attrs[a.name()] = a.f();
        break;
      case onnx::AttributeProto::STRING:
        attrs[a.name()] = a.s();
        break;
      case onnx::AttributeProto::INTS:
        attrs[a.name()] = std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
        break;
      case onnx::AttributeProto::FLOATS:
        attrs[a.name()] = std::vector<float>(a.floats().begin(), a.floats().end());
        break;
      default:
        break;  // tensors/graphs: not used by the supported ops
    }
  }
  return attrs;
}

std::vector<std::int64_t> ints_attr(const nlohmann::json& attrs, const char* key,
                                    std::vector<std::int64_t> def) {
  auto it = attrs.find(key);
  return it == attrs.end() ? def : it->get<std::vector<std::int64_t>>();
}

std::vector<std::int64_t> tensor_ints(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

std::int64_t norm_axis(std::int64_t axis, std::int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

const std::set<std::string>& supported_ops() {
  static const std::set<std::string> ops{"Conv",        "Sigmoid",
                                         "Relu",        "LeakyRelu",
                                         "Mul",         "Add",
                                         "Sub",         "Div",
                                         "Concat",      "Slice",
                                         "MaxPool",     "AveragePool",
                                         "Resize",      "Reshape",
                                         "Transpose",   "Softmax",
                                         "HardSigmoid", "HardSwish",
                                         "Clip",        "Flatten",
                                         "Identity",    "GlobalAveragePool",
                                         "Split"};
  return ops;
}

}  // namespace

Result<GraphNet> GraphNet::build(const OnnxGraph& graph, const GraphLayout& layout) {
  const onnx::GraphProto& g = graph.proto().graph();
  GraphNet net;
  std::set<std::string> initializer_names;
  for (const onnx::TensorProto& t : g.initializer()) initializer_names.insert(t.name());
  for (const onnx::ValueInfoProto& in : g.input()) {
    if (initializer_names.count(in.name()) == 0) {
      net.input_name_ = in.name();
      break;
    }
  }
  std::set<std::string> param_names;
  for (const onnx::NodeProto& n : g.node()) {
    if (supported_ops().count(n.op_type()) == 0) {
      return Unexpected{ErrorCode::kInvalidSpec, "training does not support the ONNX op '" + n.op_type() +
                                                     "' (node " + n.name() + ")"};
    }
    GraphNode node{n.op_type(),
                   {n.input().begin(), n.input().end()},
                   {n.output().begin(), n.output().end()},
                   attributes_of(n),
                   Section::kHead};
    if (node.op == "Conv") {
      for (std::size_t i = 1; i < node.inputs.size() && i < 3; ++i) param_names.insert(node.inputs[i]);
      if (net.stem_weight_.empty() && node.inputs.size() > 1) net.stem_weight_ = node.inputs[1];
    }
    net.nodes_.push_back(std::move(node));
  }
  for (const onnx::TensorProto& t : g.initializer()) {
    if (t.data_type() == onnx::TensorProto::FLOAT) {
      auto value = graph.float_initializer(t.name());
      if (!value) return value.error();
      if (param_names.count(t.name()) != 0) {
        net.params_[t.name()] = value->set_requires_grad(true);
      } else {
        net.constants_[t.name()] = *value;
      }
    } else if (t.data_type() == onnx::TensorProto::INT64) {
      auto values = graph.int_initializer(t.name());
      if (!values) return values.error();
      net.constants_[t.name()] = at::tensor(*values, at::kLong);
    }
  }
  // Sections from the declared layout.
  std::unordered_map<std::string, std::size_t> producer;
  for (std::size_t i = 0; i < net.nodes_.size(); ++i) {
    for (const std::string& out : net.nodes_[i].outputs) producer[out] = i;
  }
  auto ancestors = [&](const std::vector<std::string>& tensors) -> Result<std::set<std::size_t>> {
    std::set<std::size_t> seen;
    std::vector<std::string> stack;
    for (const std::string& t : tensors) {
      if (producer.count(t) == 0) {
        return Unexpected{ErrorCode::kInvalidSpec, "train layout names tensor '" + t + "', not in the graph"};
      }
      stack.push_back(t);
    }
    while (!stack.empty()) {
      const std::string t = stack.back();
      stack.pop_back();
      auto it = producer.find(t);
      if (it == producer.end() || !seen.insert(it->second).second) continue;
      for (const std::string& in : net.nodes_[it->second].inputs) stack.push_back(in);
    }
    return seen;
  };
  auto backbone = ancestors(layout.backbone_outputs);
  if (!backbone) return backbone.error();
  auto neck = ancestors(layout.neck_outputs);
  if (!neck) return neck.error();
  for (std::size_t i = 0; i < net.nodes_.size(); ++i) {
    GraphNode& node = net.nodes_[i];
    node.section = backbone->count(i) != 0 ? Section::kBackbone
                   : neck->count(i) != 0   ? Section::kNeck
                                           : Section::kHead;
    if (node.op == "Conv") {
      for (std::size_t k = 1; k < node.inputs.size() && k < 3; ++k)
        net.param_section_[node.inputs[k]] = node.section;
    }
  }
  return net;
}

Section GraphNet::section_of_parameter(const std::string& name) const {
  auto it = param_section_.find(name);
  return it == param_section_.end() ? Section::kHead : it->second;
}

Result<std::string> GraphNet::conv_output(const std::string& weight_name) const {
  for (const GraphNode& node : nodes_) {
    if (node.op == "Conv" && node.inputs.size() > 1 && node.inputs[1] == weight_name) return node.outputs[0];
  }
  return Unexpected{ErrorCode::kInvalidSpec, "no Conv node uses the weight '" + weight_name + "'"};
}

void GraphNet::freeze_below(Section first_trained) {
  first_trained_ = first_trained;
  for (auto& [name, tensor] : params_) {
    tensor.set_requires_grad(static_cast<int>(section_of_parameter(name)) >= static_cast<int>(first_trained));
  }
}

const at::Tensor* GraphNet::lookup(const std::string& name) const {
  if (auto it = params_.find(name); it != params_.end()) return &it->second;
  if (auto it = constants_.find(name); it != constants_.end()) return &it->second;
  return nullptr;
}

Result<std::vector<at::Tensor>> GraphNet::run(const at::Tensor& input,
                                              const std::vector<std::string>& outputs) const {
  // Which nodes the requested outputs need, and how often each value is read (to free it early).
  std::unordered_map<std::string, std::size_t> producer;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    for (const std::string& out : nodes_[i].outputs) producer[out] = i;
  }
  std::vector<bool> needed(nodes_.size(), false);
  std::vector<std::string> stack(outputs.begin(), outputs.end());
  while (!stack.empty()) {
    const std::string t = stack.back();
    stack.pop_back();
    auto it = producer.find(t);
    if (it == producer.end() || needed[it->second]) continue;
    needed[it->second] = true;
    for (const std::string& in : nodes_[it->second].inputs) stack.push_back(in);
  }
  std::unordered_map<std::string, int> reads;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!needed[i]) continue;
    for (const std::string& in : nodes_[i].inputs) ++reads[in];
  }
  for (const std::string& out : outputs) reads[out] += 1 << 20;  // never freed

  std::unordered_map<std::string, at::Tensor> values;
  values[input_name_] = input;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!needed[i]) continue;
    const GraphNode& node = nodes_[i];
    std::vector<at::Tensor> in;
    in.reserve(node.inputs.size());
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        in.emplace_back();
        continue;
      }
      if (auto it = values.find(name); it != values.end()) {
        in.push_back(it->second);
      } else if (const at::Tensor* t = lookup(name)) {
        in.push_back(*t);
      } else {
        return Unexpected{ErrorCode::kInvalidSpec,
                          "ONNX value '" + name + "' is not computed before its use"};
      }
    }
    const bool frozen = static_cast<int>(node.section) < static_cast<int>(first_trained_);
    if (node.op == "Split") {
      auto parts = [&] {
        if (frozen) {
          const c10::NoGradGuard no_grad;
          return run_split(node, in);
        }
        return run_split(node, in);
      }();
      if (!parts) return parts.error();
      for (std::size_t k = 0; k < node.outputs.size(); ++k) values[node.outputs[k]] = (*parts)[k];
    } else {
      Result<at::Tensor> out = [&] {
        if (frozen) {
          const c10::NoGradGuard no_grad;
          return run_node(node, in);
        }
        return run_node(node, in);
      }();
      if (!out) return out.error();
      values[node.outputs[0]] = std::move(*out);
    }
    for (const std::string& name : node.inputs) {
      auto r = reads.find(name);
      if (r != reads.end() && --r->second == 0) values.erase(name);
    }
  }
  std::vector<at::Tensor> result;
  for (const std::string& out : outputs) {
    auto it = values.find(out);
    if (it == values.end())
      return Unexpected{ErrorCode::kInvalidSpec, "ONNX value '" + out + "' was not computed"};
    result.push_back(it->second);
  }
  return result;
}

Result<std::vector<at::Tensor>> GraphNet::run_split(const GraphNode& node,
                                                    const std::vector<at::Tensor>& in) const {
  const std::int64_t axis = norm_axis(node.attrs.value("axis", std::int64_t{0}), in[0].dim());
  std::vector<std::int64_t> sizes = ints_attr(node.attrs, "split", {});
  if (sizes.empty() && in.size() > 1 && in[1].defined()) sizes = tensor_ints(in[1]);  // opset 13 form
  const auto parts = static_cast<std::int64_t>(node.outputs.size());
  if (sizes.empty()) {
    if (parts < 1 || in[0].size(axis) % parts != 0)
      return Unexpected{ErrorCode::kInvalidSpec, "Split " + node.outputs[0] + ": uneven split"};
    sizes.assign(static_cast<std::size_t>(parts), in[0].size(axis) / parts);
  }
  std::int64_t total = 0;
  for (std::int64_t v : sizes) total += v;
  if (static_cast<std::int64_t>(sizes.size()) != parts || total != in[0].size(axis)) {
    return Unexpected{ErrorCode::kInvalidSpec, "Split " + node.outputs[0] + ": sizes do not add up to " +
                                                   std::to_string(in[0].size(axis))};
  }
  std::vector<at::Tensor> out;
  std::int64_t start = 0;
  for (std::int64_t v : sizes) {
    out.push_back(in[0].narrow(axis, start, v));
    start += v;
  }
  return out;
}

Result<at::Tensor> GraphNet::run_node(const GraphNode& node, const std::vector<at::Tensor>& in) const {
  const std::string& op = node.op;
  const nlohmann::json& a = node.attrs;
  if (op == "Conv") {
    const auto strides = ints_attr(a, "strides", {1, 1});
    const auto dilations = ints_attr(a, "dilations", {1, 1});
    auto pads = ints_attr(a, "pads", {0, 0, 0, 0});
    const std::int64_t group = a.value("group", std::int64_t{1});
    at::Tensor x = in[0];
    std::vector<std::int64_t> padding{pads[0], pads[1]};
    if (pads.size() == 4 && (pads[0] != pads[2] || pads[1] != pads[3])) {
      x = at::constant_pad_nd(x, {pads[1], pads[3], pads[0], pads[2]}, 0.0);
      padding = {0, 0};
    }
    const at::Tensor bias = in.size() > 2 ? in[2] : at::Tensor();
    return at::conv2d(x, in[1], bias, strides, padding, dilations, group);
  }
  if (op == "Sigmoid") return at::sigmoid(in[0]);
  if (op == "Relu") return at::relu(in[0]);
  if (op == "LeakyRelu") return at::leaky_relu(in[0], a.value("alpha", 0.01F));
  if (op == "HardSigmoid") {
    return at::clamp(in[0] * a.value("alpha", 0.2F) + a.value("beta", 0.5F), 0.0, 1.0);
  }
  if (op == "HardSwish") return at::hardswish(in[0]);
  if (op == "Clip") {
    c10::optional<at::Scalar> lo;
    c10::optional<at::Scalar> hi;
    if (in.size() > 1 && in[1].defined()) lo = in[1].item();
    if (in.size() > 2 && in[2].defined()) hi = in[2].item();
    return at::clamp(in[0], lo, hi);
  }
  if (op == "Identity") return in[0];
  if (op == "Mul") return in[0] * in[1];
  if (op == "Add") return in[0] + in[1];
  if (op == "Sub") return in[0] - in[1];
  if (op == "Div") return in[0] / in[1];
  if (op == "Concat") return at::cat(in, norm_axis(a.value("axis", std::int64_t{0}), in[0].dim()));
  if (op == "Softmax") return at::softmax(in[0], norm_axis(a.value("axis", std::int64_t{-1}), in[0].dim()));
  if (op == "Flatten") return at::flatten(in[0], norm_axis(a.value("axis", std::int64_t{1}), in[0].dim()));
  if (op == "GlobalAveragePool") return at::adaptive_avg_pool2d(in[0], {1, 1});
  if (op == "Transpose") return in[0].permute(ints_attr(a, "perm", {})).contiguous();
  if (op == "MaxPool" || op == "AveragePool") {
    const auto kernel = ints_attr(a, "kernel_shape", {1, 1});
    const auto strides = ints_attr(a, "strides", {1, 1});
    const auto pads = ints_attr(a, "pads", {0, 0, 0, 0});
    const bool ceil = a.value("ceil_mode", std::int64_t{0}) != 0;
    if (op == "MaxPool") return at::max_pool2d(in[0], kernel, strides, {pads[0], pads[1]}, {1, 1}, ceil);
    return at::avg_pool2d(in[0], kernel, strides, {pads[0], pads[1]}, ceil,
                          a.value("count_include_pad", std::int64_t{0}) != 0);
  }
  if (op == "Slice") {
    const std::int64_t rank = in[0].dim();
    const auto starts = tensor_ints(in[1]);
    const auto ends = tensor_ints(in[2]);
    std::vector<std::int64_t> axes;
    if (in.size() > 3 && in[3].defined()) {
      axes = tensor_ints(in[3]);
    } else {
      for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    }
    std::vector<std::int64_t> steps(starts.size(), 1);
    if (in.size() > 4 && in[4].defined()) steps = tensor_ints(in[4]);
    at::Tensor x = in[0];
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const std::int64_t axis = norm_axis(axes[i], rank);
      const std::int64_t size = x.size(axis);
      auto clampi = [size](std::int64_t v) {
        if (v < 0) v += size;
        return std::clamp<std::int64_t>(v, 0, size);
      };
      x = x.slice(axis, clampi(starts[i]), clampi(ends[i]), steps[i]);
    }
    return x;
  }
  if (op == "Reshape") {
    auto shape = tensor_ints(in[1]);
    // Graphs exported with batch 1 bake it into Reshape constants; training keeps the input's batch.
    if (!shape.empty() && shape[0] == 1 && in[0].size(0) != 1) shape[0] = in[0].size(0);
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == 0) shape[i] = in[0].size(static_cast<std::int64_t>(i));
    }
    return in[0].reshape(shape);
  }
  if (op == "Resize") {
    const std::string mode = a.value("mode", std::string("nearest"));
    const std::string coord = a.value("coordinate_transformation_mode", std::string("half_pixel"));
    std::vector<std::int64_t> size{in[0].size(2), in[0].size(3)};
    if (in.size() > 3 && in[3].defined() && in[3].numel() == 4) {
      const auto sizes = tensor_ints(in[3]);
      size = {sizes[2], sizes[3]};
    } else if (in.size() > 2 && in[2].defined() && in[2].numel() == 4) {
      const at::Tensor scales = in[2].to(at::kFloat).contiguous();
      size = {static_cast<std::int64_t>(static_cast<float>(in[0].size(2)) * scales.data_ptr<float>()[2]),
              static_cast<std::int64_t>(static_cast<float>(in[0].size(3)) * scales.data_ptr<float>()[3])};
    } else {
      return Unexpected{ErrorCode::kInvalidSpec, "Resize without scales or sizes"};
    }
    if (mode == "nearest") return at::upsample_nearest2d(in[0], size);
    return at::upsample_bilinear2d(in[0], size, coord == "align_corners");
  }
  return Unexpected{ErrorCode::kInvalidSpec, "training does not support the ONNX op '" + op + "'"};
}

}  // namespace visearch::train
