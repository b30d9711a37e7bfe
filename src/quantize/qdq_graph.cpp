#include "quantize/qdq_graph.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <unordered_map>
#include <utility>

#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include "onnx/onnx_file.h"

namespace visearch::quantize {
namespace {

struct GraphIndex {
  std::unordered_map<std::string, int> producer;                // tensor -> node index
  std::unordered_map<std::string, std::vector<int>> consumers;  // tensor -> node indices
  std::set<std::string> initializers;
  std::set<std::string> outputs;
};

GraphIndex index_graph(const onnx::GraphProto& g) {
  GraphIndex ix;
  for (int i = 0; i < g.node_size(); ++i) {
    for (const std::string& out : g.node(i).output()) ix.producer[out] = i;
    for (const std::string& in : g.node(i).input()) {
      if (!in.empty()) ix.consumers[in].push_back(i);
    }
  }
  for (const onnx::TensorProto& t : g.initializer()) ix.initializers.insert(t.name());
  for (const onnx::ValueInfoProto& v : g.output()) ix.outputs.insert(v.name());
  return ix;
}

std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return fallback;
}

// The axis of the weight that indexes output channels, or -1 when the node is not quantised.
int weight_axis(const onnx::NodeProto& node, const onnx::TensorProto& weight) {
  const int rank = weight.dims_size();
  if (node.op_type() == "Conv") return rank >= 3 ? 0 : -1;
  if (node.op_type() == "Gemm") return rank == 2 ? (int_attribute(node, "transB", 0) != 0 ? 0 : 1) : -1;
  if (node.op_type() == "MatMul") return rank == 2 ? 1 : -1;
  return -1;
}

bool quantisable(const onnx::ModelProto& model, const GraphIndex& ix, const onnx::NodeProto& node) {
  if (node.input_size() < 2 || ix.initializers.count(node.input(0)) != 0) return false;
  const onnx::TensorProto* w = onnx_file::find_initializer(model, node.input(1));
  if (w == nullptr || w->data_type() != onnx::TensorProto::FLOAT) return false;
  return weight_axis(node, *w) >= 0;
}

// Ops whose float data stays 8-bit between quantised layers (ORT has integer kernels or drops the pairs).
bool moves_values(const std::string& op) {  // the output holds values of the input: same parameters
  // Not Resize: 8-bit upsampling in NanoDet's feature pyramid cost 0.8 AP on coco128 (-1.1 against -0.3
  // points) for no measurable speed.
  static const std::set<std::string> ops{"MaxPool", "Reshape", "Transpose", "Split",
                                         "Slice",   "Squeeze", "Unsqueeze", "Flatten"};
  return ops.count(op) != 0;
}
bool integer_op(const std::string& op) {  // own output parameters
  static const std::set<std::string> ops{
      "Concat", "Add", "Mul", "LeakyRelu", "Sigmoid", "AveragePool", "GlobalAveragePool"};
  return ops.count(op) != 0;
}

// Element types of the graph's tensors, from ONNX's shape inference (empty when it fails).
std::map<std::string, int> element_types(const onnx::ModelProto& model) {
  std::map<std::string, int> types;
  onnx::ModelProto inferred = model;
  try {
    onnx::shape_inference::InferShapes(inferred);
  } catch (const std::exception&) {
    return types;
  }
  const auto add = [&](const onnx::ValueInfoProto& v) {
    if (v.type().has_tensor_type()) types[v.name()] = v.type().tensor_type().elem_type();
  };
  for (const auto& v : inferred.graph().input()) add(v);
  for (const auto& v : inferred.graph().output()) add(v);
  for (const auto& v : inferred.graph().value_info()) add(v);
  return types;
}

onnx::TensorProto scalar(const std::string& name, int type, const void* value, std::size_t bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  onnx_file::set_raw(t, type, {}, value, bytes);
  return t;
}

onnx::NodeProto make_node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                          const std::string& output, int axis = -1) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (std::string& in : inputs) n.add_input(std::move(in));
  n.add_output(output);
  if (axis >= 0) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
  }
  return n;
}

}  // namespace

// uint8, asymmetric: the calibrated range widened to include 0 (so that 0, padding, is exact).
ActivationParams activation_params(Range r) {
  const float lo = std::min(0.F, r.min);
  const float hi = std::max(0.F, r.max);
  ActivationParams p;
  p.scale = (hi - lo) / 255.F;
  if (!(p.scale > 0.F) || !std::isfinite(p.scale)) p.scale = 1.F;
  const float zp = std::round(-lo / p.scale);
  p.zero_point = static_cast<std::uint8_t>(std::clamp(zp, 0.F, 255.F));
  return p;
}

double squared_quantization_error(const std::vector<float>& values, ActivationParams p) {
  double sum = 0;
  for (const float v : values) {
    const float q = std::clamp(std::round(v / p.scale) + static_cast<float>(p.zero_point), 0.F, 255.F);
    const double e = static_cast<double>((q - static_cast<float>(p.zero_point)) * p.scale - v);
    sum += e * e;
  }
  return sum;
}

const char* range_method_name(RangeMethod method) {
  switch (method) {
    case RangeMethod::kPercentile:
      return "percentile";
    case RangeMethod::kMse:
      return "mse";
    case RangeMethod::kMinMax:
      break;
  }
  return "minmax";
}

Histogram::Histogram(Range span, std::size_t bins)
    : span_(span), counts_(std::max<std::size_t>(bins, 1), 0.0) {
  const double extent = static_cast<double>(span.max) - static_cast<double>(span.min);
  width_ = extent > 0 && std::isfinite(extent) ? extent / static_cast<double>(counts_.size()) : 0.0;
}

void Histogram::add(const std::vector<float>& values) {
  const double last = static_cast<double>(counts_.size() - 1);
  for (const float v : values) {
    if (!std::isfinite(v)) continue;
    const double at = width_ > 0 ? (static_cast<double>(v) - static_cast<double>(span_.min)) / width_ : 0.0;
    counts_[static_cast<std::size_t>(std::clamp(std::floor(at), 0.0, last))] += 1.0;
    total_ += 1.0;
  }
}

double expected_squared_error(const Histogram& h, ActivationParams p) {
  // Each bin's values are taken as spread evenly over the bin: those whose bin centre falls outside the
  // representable ends clip to the nearest end; inside, a bin narrower than a step rounds as its centre does
  // (plus the spread), a wider one by step^2 / 12 per value.
  const double step = p.scale;
  const double zp = static_cast<double>(p.zero_point);
  const double lo = -zp * step;
  const double hi = (255.0 - zp) * step;
  const double w = h.bin_width();
  const double spread = w * w / 12.0;
  const std::vector<double>& counts = h.counts();
  double sum = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] <= 0) continue;
    const double c = h.center(i);
    double e = 0;
    if (c < lo || c > hi) {
      const double d = c < lo ? c - lo : c - hi;
      e = d * d + spread;
    } else if (w < step) {
      const double d = std::round(c / step) * step - c;
      e = d * d + spread;
    } else {
      e = step * step / 12.0;
    }
    sum += counts[i] * e;
  }
  return sum;
}

Range percentile_range(const Histogram& h, double percentile) {
  const Range span = h.span();
  if (h.bin_width() <= 0 || h.total() <= 0) return span;
  const double tail = h.total() * std::clamp(100.0 - percentile, 0.0, 50.0) / 100.0;
  const std::vector<double>& counts = h.counts();
  Range r = span;
  double seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen > tail) {
      r.min = static_cast<float>(h.center(i) - h.bin_width() / 2);
      break;
    }
  }
  seen = 0;
  for (std::size_t i = counts.size(); i-- > 0;) {
    seen += counts[i];
    if (seen > tail) {
      r.max = static_cast<float>(h.center(i) + h.bin_width() / 2);
      break;
    }
  }
  r.min = std::max(r.min, span.min);
  r.max = std::min(r.max, span.max);
  if (r.max < r.min) r.max = r.min;
  return r;
}

Range mse_range(const Histogram& h) {
  const Range span = h.span();
  if (h.bin_width() <= 0 || h.total() <= 0) return span;
  // Coordinate descent over the ends min * i / K and max * j / K: the best upper end for the lower one,
  // then the best lower end for that, until neither moves. A narrower range must be strictly better.
  constexpr int kSteps = 128;
  const bool search_lo = span.min < 0.F;
  const bool search_hi = span.max > 0.F;
  const auto at = [&](int i, int j) {
    return Range{search_lo ? span.min * static_cast<float>(i) / kSteps : span.min,
                 search_hi ? span.max * static_cast<float>(j) / kSteps : span.max};
  };
  const auto cost = [&](int i, int j) { return expected_squared_error(h, activation_params(at(i, j))); };
  int i = kSteps;
  int j = kSteps;
  double best = cost(i, j);
  for (int round = 0; round < 8; ++round) {
    bool moved = false;
    if (search_hi) {
      for (int k = kSteps; k >= 1; --k) {
        const double e = cost(i, k);
        if (e < best) {
          best = e;
          moved = moved || k != j;
          j = k;
        }
      }
    }
    if (search_lo) {
      for (int k = kSteps; k >= 0; --k) {
        const double e = cost(k, j);
        if (e < best) {
          best = e;
          moved = moved || k != i;
          i = k;
        }
      }
    }
    if (!moved || !(search_lo && search_hi)) break;
  }
  return at(i, j);
}

QdqPlan without_tensors(const onnx::ModelProto& model, QdqPlan plan,
                        const std::map<std::string, std::string>& reasons) {
  const auto dropped = [&](const std::string& t) { return reasons.count(t) != 0; };
  std::map<std::string, const onnx::NodeProto*> by_name;
  for (const onnx::NodeProto& n : model.graph().node()) by_name[n.name()] = &n;
  std::vector<std::string> nodes;
  for (const std::string& name : plan.nodes) {
    const onnx::NodeProto& n = *by_name.at(name);
    if (!dropped(n.input(0))) {
      nodes.push_back(name);
      continue;
    }
    plan.kept_fp32.push_back(name + " (" + n.op_type() + "): its input " + reasons.at(n.input(0)));
    plan.relu.erase(n.output(0));  // its Relu runs in float again
  }
  plan.nodes = std::move(nodes);
  std::erase_if(plan.activations, dropped);
  std::erase_if(plan.tied, [&](const auto& t) { return dropped(t.first) || dropped(t.second); });
  return plan;
}

void name_nodes(onnx::ModelProto& model) {
  std::set<std::string> used;
  for (const onnx::NodeProto& n : model.graph().node()) used.insert(n.name());
  int next = 0;
  for (onnx::NodeProto& n : *model.mutable_graph()->mutable_node()) {
    if (!n.name().empty()) continue;
    std::string name;
    do {
      name = "visearch_node_" + std::to_string(next++);
    } while (used.count(name) != 0);
    n.set_name(name);
    used.insert(name);
  }
}

Result<onnx::ModelProto> at_least_opset13(const onnx::ModelProto& model) {
  for (const onnx::OperatorSetIdProto& op : model.opset_import()) {
    if ((op.domain().empty() || op.domain() == "ai.onnx") && op.version() >= 13) return model;
  }
  try {
    return onnx::version_conversion::ConvertVersion(model, 13);
  } catch (const std::exception& e) {
    return Unexpected{ErrorCode::kInvalidSpec,
                      std::string("the graph cannot be converted to ONNX opset 13, which per-channel INT8 "
                                  "weights need: ") +
                          e.what()};
  }
}

QdqPlan plan_qdq(const onnx::ModelProto& model, const PlanOptions& options) {
  const onnx::GraphProto& g = model.graph();
  const GraphIndex ix = index_graph(g);
  std::vector<bool> is_q(static_cast<std::size_t>(g.node_size()));
  for (int i = 0; i < g.node_size(); ++i)
    is_q[static_cast<std::size_t>(i)] = quantisable(model, ix, g.node(i));
  // Does this tensor reach a quantisable node?
  std::unordered_map<std::string, bool> memo;
  const std::function<bool(const std::string&)> feeds = [&](const std::string& tensor) -> bool {
    if (const auto it = memo.find(tensor); it != memo.end()) return it->second;
    memo[tensor] = false;  // a cycle cannot occur in a valid graph; this also stops one
    bool result = false;
    if (const auto c = ix.consumers.find(tensor); c != ix.consumers.end()) {
      for (const int i : c->second) {
        if (is_q[static_cast<std::size_t>(i)]) {
          result = true;
          break;
        }
        for (const std::string& out : g.node(i).output()) {
          if (feeds(out)) {
            result = true;
            break;
          }
        }
        if (result) break;
      }
    }
    memo[tensor] = result;
    return result;
  };
  QdqPlan plan;
  std::set<std::string> seen;
  const auto add_activation = [&](const std::string& t) {
    if (seen.insert(t).second) plan.activations.push_back(t);
  };
  for (int i = 0; i < g.node_size(); ++i) {
    if (!is_q[static_cast<std::size_t>(i)]) continue;
    const onnx::NodeProto& node = g.node(i);
    if (!options.quantize_final_layers && !feeds(node.output(0))) {
      plan.kept_fp32.push_back(node.name() + " (" + node.op_type() +
                               "): a final layer (its output reaches no other quantised layer)");
      continue;
    }
    plan.nodes.push_back(node.name());
    add_activation(node.input(0));
    const std::string& out = node.output(0);
    const auto c = ix.consumers.find(out);
    if (c != ix.consumers.end() && c->second.size() == 1 && ix.outputs.count(out) == 0 &&
        g.node(c->second.front()).op_type() == "Relu" &&
        ix.outputs.count(g.node(c->second.front()).output(0)) == 0) {
      const onnx::NodeProto& relu = g.node(c->second.front());
      plan.relu[out] = relu.name();
      add_activation(relu.output(0));
    } else {
      add_activation(out);
    }
  }
  // 8-bit data between quantised layers.
  const std::set<std::string> planned(plan.nodes.begin(), plan.nodes.end());
  std::set<std::string> folded;
  for (const auto& [tensor, relu] : plan.relu) folded.insert(relu);
  std::unordered_map<std::string, bool> memo_planned;
  const std::function<bool(const std::string&)> reaches = [&](const std::string& tensor) -> bool {
    if (const auto it = memo_planned.find(tensor); it != memo_planned.end()) return it->second;
    memo_planned[tensor] = false;
    bool result = false;
    if (const auto c = ix.consumers.find(tensor); c != ix.consumers.end()) {
      for (const int i : c->second) {
        result = planned.count(g.node(i).name()) != 0;
        for (int k = 0; !result && k < g.node(i).output_size(); ++k) result = reaches(g.node(i).output(k));
        if (result) break;
      }
    }
    memo_planned[tensor] = result;
    return result;
  };
  const std::map<std::string, int> types = element_types(model);
  const auto is_float_activation = [&](const std::string& t) {
    const auto it = types.find(t);
    return !t.empty() && ix.initializers.count(t) == 0 && it != types.end() &&
           it->second == onnx::TensorProto::FLOAT;
  };
  for (const onnx::NodeProto& node : g.node()) {
    const std::string& op = node.op_type();
    if (planned.count(node.name()) != 0 || folded.count(node.name()) != 0) continue;
    if (!moves_values(op) && !integer_op(op)) continue;
    if (node.input_size() < 1 || node.output_size() < 1) continue;
    bool reached = false;
    for (const std::string& out : node.output())
      reached = reached || (ix.outputs.count(out) == 0 && reaches(out));
    if (!reached) continue;
    // The data inputs: every input of Concat/Add/Mul (all of them activations, else the op stays float),
    // the first of the others.
    const int data_inputs = (op == "Concat" || op == "Add" || op == "Mul") ? node.input_size() : 1;
    bool all_float = true;
    for (int k = 0; k < data_inputs; ++k) all_float = all_float && is_float_activation(node.input(k));
    for (const std::string& out : node.output()) all_float = all_float && is_float_activation(out);
    if (!all_float) continue;
    for (int k = 0; k < data_inputs; ++k) add_activation(node.input(k));
    for (const std::string& out : node.output()) {
      add_activation(out);
      if (moves_values(op)) plan.tied.emplace_back(out, node.input(0));
    }
  }
  return plan;
}

onnx::ModelProto with_outputs(const onnx::ModelProto& model, const std::vector<std::string>& tensors) {
  onnx::ModelProto out = model;
  std::set<std::string> present;
  for (const onnx::ValueInfoProto& v : out.graph().output()) present.insert(v.name());
  for (const std::string& t : tensors) {
    if (!present.insert(t).second) continue;
    onnx::ValueInfoProto* v = out.mutable_graph()->add_output();
    v->set_name(t);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  return out;
}

Result<onnx::ModelProto> make_qdq(const onnx::ModelProto& model, const QdqPlan& plan,
                                  const std::map<std::string, Range>& ranges) {
  onnx::ModelProto m = model;
  onnx::GraphProto* g = m.mutable_graph();
  const std::set<std::string> planned(plan.nodes.begin(), plan.nodes.end());
  std::set<std::string> folded_relus;
  for (const auto& [tensor, relu] : plan.relu) folded_relus.insert(relu);

  // Activation pairs: parameters from the ranges, value-moving ops' outputs take their input's.
  std::map<std::string, ActivationParams> act;
  for (const std::string& t : plan.activations) {
    const auto r = ranges.find(t);
    if (r == ranges.end()) {
      return Unexpected{ErrorCode::kInvalidArgument, "no calibrated range for tensor '" + t + "'"};
    }
    act[t] = activation_params(r->second);
  }
  for (const auto& [out, in] : plan.tied) {
    if (act.count(out) != 0 && act.count(in) != 0) act[out] = act[in];
  }
  for (const std::string& t : plan.activations) {
    const ActivationParams p = act[t];
    *g->add_initializer() = scalar(t + "_scale", onnx::TensorProto::FLOAT, &p.scale, sizeof p.scale);
    *g->add_initializer() =
        scalar(t + "_zero_point", onnx::TensorProto::UINT8, &p.zero_point, sizeof p.zero_point);
  }
  const auto dq_name = [](const std::string& t) { return t + "_dequantized"; };
  const auto qdq_nodes = [&](const std::string& t) {
    return std::vector<onnx::NodeProto>{
        make_node("QuantizeLinear", t + "_QuantizeLinear", {t, t + "_scale", t + "_zero_point"},
                  t + "_quantized"),
        make_node("DequantizeLinear", t + "_DequantizeLinear",
                  {t + "_quantized", t + "_scale", t + "_zero_point"}, dq_name(t))};
  };

  // Relu outputs of folded Relus: the quantised node writes them directly.
  std::map<std::string, std::string> relu_output;  // node output -> relu output
  for (const onnx::NodeProto& n : g->node()) {
    if (folded_relus.count(n.name()) != 0) relu_output[n.input(0)] = n.output(0);
  }

  std::vector<onnx::NodeProto> nodes;
  nodes.reserve(static_cast<std::size_t>(g->node_size()) * 2);
  std::set<std::string> produced;
  for (const onnx::ValueInfoProto& in : g->input()) {
    if (act.count(in.name()) != 0 && produced.insert(in.name()).second) {
      for (onnx::NodeProto& q : qdq_nodes(in.name())) nodes.push_back(std::move(q));
    }
  }
  std::vector<onnx::TensorProto> new_initializers;
  for (const onnx::NodeProto& original : g->node()) {
    if (folded_relus.count(original.name()) != 0) continue;
    onnx::NodeProto n = original;
    if (planned.count(n.name()) != 0) {
      if (const auto r = relu_output.find(n.output(0)); r != relu_output.end()) n.set_output(0, r->second);
      // Weight: int8, symmetric, per output channel.
      const onnx::TensorProto* w = onnx_file::find_initializer(m, n.input(1));
      auto values = onnx_file::float_values(*w);
      if (!values) return values.error();
      const int axis = weight_axis(n, *w);
      std::vector<std::int64_t> dims(w->dims().begin(), w->dims().end());
      const auto channels = static_cast<std::size_t>(dims[static_cast<std::size_t>(axis)]);
      std::size_t inner = 1;
      for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < dims.size(); ++d) {
        inner *= static_cast<std::size_t>(dims[d]);
      }
      if (channels == 0 || inner == 0)
        return Unexpected{ErrorCode::kInvalidSpec, "empty weight " + w->name()};
      std::vector<float> scale(channels, 0.F);
      for (std::size_t i = 0; i < values->size(); ++i) {
        float& s = scale[(i / inner) % channels];
        s = std::max(s, std::fabs((*values)[i]));
      }
      for (float& s : scale) s = s > 0.F ? s / 127.F : 1.F;
      std::vector<std::int8_t> q(values->size());
      for (std::size_t i = 0; i < values->size(); ++i) {
        const float v = std::round((*values)[i] / scale[(i / inner) % channels]);
        q[i] = static_cast<std::int8_t>(std::clamp(v, -127.F, 127.F));
      }
      const std::string base = n.name() + "_weight";
      onnx::TensorProto wq;
      wq.set_name(base + "_quantized");
      onnx_file::set_raw(wq, onnx::TensorProto::INT8, dims, q.data(), q.size());
      onnx::TensorProto ws;
      ws.set_name(base + "_scale");
      onnx_file::set_raw(ws, onnx::TensorProto::FLOAT, {static_cast<std::int64_t>(channels)}, scale.data(),
                         scale.size() * sizeof(float));
      const std::vector<std::int8_t> wzp(channels, 0);
      onnx::TensorProto wz;
      wz.set_name(base + "_zero_point");
      onnx_file::set_raw(wz, onnx::TensorProto::INT8, {static_cast<std::int64_t>(channels)}, wzp.data(),
                         wzp.size());
      new_initializers.push_back(std::move(wq));
      new_initializers.push_back(std::move(ws));
      new_initializers.push_back(std::move(wz));
      nodes.push_back(make_node("DequantizeLinear", base + "_DequantizeLinear",
                                {base + "_quantized", base + "_scale", base + "_zero_point"},
                                base + "_dequantized", axis));
      n.set_input(1, base + "_dequantized");
      // Bias: int32 at scale (input scale x weight scale), when it is one value per output channel.
      const onnx::TensorProto* b = n.input_size() > 2 ? onnx_file::find_initializer(m, n.input(2)) : nullptr;
      if (b != nullptr && b->dims_size() == 1 && static_cast<std::size_t>(b->dims(0)) == channels &&
          act.count(n.input(0)) != 0) {
        auto bias = onnx_file::float_values(*b);
        if (!bias) return bias.error();
        const float sx = act[n.input(0)].scale;
        std::vector<float> bs(channels);
        std::vector<std::int32_t> bq(channels);
        for (std::size_t c = 0; c < channels; ++c) {
          bs[c] = sx * scale[c];
          const double v = std::round(static_cast<double>((*bias)[c]) / static_cast<double>(bs[c]));
          bq[c] = static_cast<std::int32_t>(std::clamp(v, -2147483647.0, 2147483647.0));
        }
        const std::string bb = n.name() + "_bias";
        const std::vector<std::int32_t> bz(channels, 0);
        onnx::TensorProto tq;
        tq.set_name(bb + "_quantized");
        onnx_file::set_raw(tq, onnx::TensorProto::INT32, {static_cast<std::int64_t>(channels)}, bq.data(),
                           bq.size() * sizeof(std::int32_t));
        onnx::TensorProto ts;
        ts.set_name(bb + "_scale");
        onnx_file::set_raw(ts, onnx::TensorProto::FLOAT, {static_cast<std::int64_t>(channels)}, bs.data(),
                           bs.size() * sizeof(float));
        onnx::TensorProto tz;
        tz.set_name(bb + "_zero_point");
        onnx_file::set_raw(tz, onnx::TensorProto::INT32, {static_cast<std::int64_t>(channels)}, bz.data(),
                           bz.size() * sizeof(std::int32_t));
        new_initializers.push_back(std::move(tq));
        new_initializers.push_back(std::move(ts));
        new_initializers.push_back(std::move(tz));
        nodes.push_back(make_node("DequantizeLinear", bb + "_DequantizeLinear",
                                  {bb + "_quantized", bb + "_scale", bb + "_zero_point"}, bb + "_dequantized",
                                  0));
        n.set_input(2, bb + "_dequantized");
      }
    }
    // Readers of a quantised activation read its dequantised copy.
    for (int k = 0; k < n.input_size(); ++k) {
      if (act.count(n.input(k)) != 0) n.set_input(k, dq_name(n.input(k)));
    }
    std::vector<std::string> outs(n.output().begin(), n.output().end());
    nodes.push_back(std::move(n));
    for (const std::string& out : outs) {
      if (act.count(out) != 0 && produced.insert(out).second) {
        for (onnx::NodeProto& q : qdq_nodes(out)) nodes.push_back(std::move(q));
      }
    }
  }
  for (const std::string& t : plan.activations) {
    if (produced.count(t) == 0) {
      return Unexpected{ErrorCode::kInvalidSpec,
                        "tensor '" + t + "' is neither a graph input nor a node output"};
    }
  }
  g->clear_node();
  for (onnx::NodeProto& n : nodes) *g->add_node() = std::move(n);
  for (onnx::TensorProto& t : new_initializers) *g->add_initializer() = std::move(t);
  // Drop the float weights no node reads any more.
  std::set<std::string> read;
  for (const onnx::NodeProto& n : g->node()) read.insert(n.input().begin(), n.input().end());
  for (const onnx::ValueInfoProto& v : g->output()) read.insert(v.name());
  auto* inits = g->mutable_initializer();
  int kept = 0;
  for (int i = 0; i < inits->size(); ++i) {
    if (read.count(inits->Get(i).name()) == 0) continue;
    if (kept != i) inits->SwapElements(kept, i);
    ++kept;
  }
  while (inits->size() > kept) inits->RemoveLast();
  // Value infos of tensors that changed type or vanished (a folded Relu's input) would mislead ORT.
  g->clear_value_info();
  return m;
}

}  // namespace visearch::quantize
