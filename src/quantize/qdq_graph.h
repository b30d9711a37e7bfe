// Static INT8 quantisation of an ONNX graph in the QDQ format (QuantizeLinear/DequantizeLinear pairs that
// ONNX Runtime fuses into its integer kernels), as pure graph edits over the protobuf:
//   - which nodes are quantised (Conv, Gemm, MatMul with a float weight initializer) and which activation
//     tensors need a range (plan_qdq);
//   - a copy of the graph with those tensors added as outputs, for calibration (with_outputs);
//   - the QDQ graph itself (make_qdq): weights int8, symmetric, one scale per output channel, behind a
//     DequantizeLinear; biases int32 with scale = input scale x weight scale (what ORT's QLinearConv wants);
//     each listed activation gets one QuantizeLinear -> DequantizeLinear pair (uint8, asymmetric, from its
//     calibrated min/max widened to include 0), which all its readers then read.
// A Relu whose input is a quantised node's output read by nothing else is folded into that pair: the pair's
// range starts at 0, so QuantizeLinear already clamps negatives to 0 (exact), and ORT fuses
// DQ -> Conv -> Q into one integer convolution.
// Between quantised layers the data stays 8-bit where ONNX Runtime has integer kernels: the float tensors of
// Concat, Add, Mul, LeakyRelu, Sigmoid and the pooling ops get pairs of their own, and those of ops that only
// move or pick values (MaxPool, Reshape, Transpose, Split, Slice, Squeeze, Unsqueeze, Flatten) reuse
// their input's pair parameters, so that ORT drops the pairs around them. Only where the op's output still
// reaches a quantised layer: what follows the last one (the raw outputs' reshapes, sigmoids) stays float.
// Element types come from ONNX's shape inference (integer shape arithmetic is never quantised).
// Layers that feed no other quantised layer (the final prediction convs) stay FP32 unless asked otherwise:
// their outputs are the model's raw scores and box offsets, where int8 rounding moves boxes and scores most
// and speed gains least.
//
// Thread-safety: pure functions.
// Failure modes: kInvalidSpec for a graph whose weights are not what their node says (wrong rank or size),
// or that ONNX's version converter cannot bring to opset 13 (per-channel DequantizeLinear needs it).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/result.h"

namespace visearch::quantize {

struct QdqPlan {
  std::vector<std::string> nodes;           // names of the nodes to quantise (graph order)
  std::vector<std::string> kept_fp32;       // quantisable nodes left in float, and why: "name (op): reason"
  std::vector<std::string> activations;     // tensors that get a Q/DQ pair (need a calibrated range)
  std::map<std::string, std::string> relu;  // quantised node output -> the Relu folded into its pair
  // (output, input) of value-moving ops: the output's pair takes the input's parameters; in graph order.
  std::vector<std::pair<std::string, std::string>> tied;
};

struct PlanOptions {
  bool quantize_final_layers = false;  // also the layers that feed no other quantised layer
};

struct Range {
  float min = 0.F;
  float max = 0.F;
};

// uint8, asymmetric: the calibrated range widened to include 0 (so that 0, padding, is exact).
struct ActivationParams {
  float scale = 1.F;
  std::uint8_t zero_point = 0;
};
ActivationParams activation_params(Range range);
// Sum over `values` of (dequantize(quantize(v)) - v)^2 with these parameters.
double squared_quantization_error(const std::vector<float>& values, ActivationParams params);

// How an activation's range is chosen from the values seen on the calibration images:
//   kMinMax      the smallest and largest value (nothing clips; one outlier widens every step);
//   kPercentile  the values between the (100 - p)-th and the p-th percentile (each tail loses 100 - p %);
//   kMse         the clipping range whose 8-bit rounding and clipping error, summed over the histogram of
//                the values, is least (outliers clip when that makes the many small values finer).
enum class RangeMethod { kMinMax, kPercentile, kMse };
const char* range_method_name(RangeMethod method);

// A histogram of one tensor's values over the calibration images, in equal bins over a fixed span (the
// tensor's min/max from a first pass); values outside the span count in the end bins.
class Histogram {
 public:
  explicit Histogram(Range span, std::size_t bins = 2048);
  void add(const std::vector<float>& values);
  [[nodiscard]] Range span() const { return span_; }
  [[nodiscard]] const std::vector<double>& counts() const { return counts_; }
  [[nodiscard]] double total() const { return total_; }
  [[nodiscard]] double bin_width() const { return width_; }
  [[nodiscard]] double center(std::size_t bin) const {
    return static_cast<double>(span_.min) + (static_cast<double>(bin) + 0.5) * width_;
  }

 private:
  Range span_;
  double width_ = 0;
  std::vector<double> counts_;
  double total_ = 0;
};
// The range keeping the values between the (100 - percentile)-th and the percentile-th percentile (bin
// edges, so never tighter than those values); percentile in (50, 100].
Range percentile_range(const Histogram& histogram, double percentile);
// The range whose uint8 parameters (activation_params) give the least expected squared error over the
// histogram (expected_squared_error): its ends are searched among min * i / 128 and max * j / 128, one end
// then the other until neither moves; a narrower range must be strictly better than a wider one.
Range mse_range(const Histogram& histogram);
// The squared error those parameters are expected to make over the histogram's values, each bin's values
// spread evenly over it: clipping to the nearest representable end outside, rounding inside.
double expected_squared_error(const Histogram& histogram, ActivationParams params);
// The plan without the pairs of these tensors (tensor -> why): a quantised layer that reads one of them
// stays FP32 (kept_fp32 says why) and its Relu stays a Relu.
QdqPlan without_tensors(const onnx::ModelProto& model, QdqPlan plan,
                        const std::map<std::string, std::string>& reasons);

// Gives every unnamed node a unique name (the plan refers to nodes by name).
void name_nodes(onnx::ModelProto& model);
// The graph at opset >= 13 (ONNX's own version converter); unchanged when it already is.
Result<onnx::ModelProto> at_least_opset13(const onnx::ModelProto& model);

QdqPlan plan_qdq(const onnx::ModelProto& model, const PlanOptions& options);
// A copy with `tensors` added as float graph outputs (those already outputs are left as they are).
onnx::ModelProto with_outputs(const onnx::ModelProto& model, const std::vector<std::string>& tensors);
// The QDQ graph; every tensor of plan.activations needs a range.
Result<onnx::ModelProto> make_qdq(const onnx::ModelProto& model, const QdqPlan& plan,
                                  const std::map<std::string, Range>& ranges);

}  // namespace visearch::quantize
