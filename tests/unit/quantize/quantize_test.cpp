// `visearch quantize` (src/quantize) against the real components: the generated conv_grid_tiny detector
// (three convolutions that together are the identity, tools/make_test_models.py) quantised end to end on a
// generated data set, the QDQ graph loaded by ONNX Runtime with outputs close to the FP32 graph's, the
// refusal when calibration data that does not represent the validation images costs AP (unless forced), and
// bad options; the activation ranges (min/max, percentile, MSE) on synthetic tensors. Slow, labelled:
// nanodet_m_416 quantised on coco128, and yolox_nano with percentile ranges.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/detector.h"
#include "model/preprocess.h"
#include "onnx/onnx_file.h"
#include "quantize/qdq_graph.h"
#include "quantize/quantize.h"
#include "runtime/inference_session.h"
#include "support/temp_files.h"
#include "unit/quantize/quantize_fixture.h"

namespace visearch::quantize {
namespace {

namespace fs = std::filesystem;

const std::string kModels = std::string(VISEARCH_TEST_DATA_DIR) + "/models";

class QuantizeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { register_all_families(families_); }
  static FamilyRegistry families_;
  const ModelRepository repo_{{kModels}, {kModels}};
  test::TempDir dir_;

  QuantizeOptions options(const fs::path& data) const {
    QuantizeOptions o;
    o.model = "conv_grid_tiny";
    o.calibration = data.string();
    o.images = 8;
    o.out = (dir_.path() / "out").string();
    o.timing_runs = 3;
    o.final_layers = FinalLayers::kFp32;  // one candidate: the graph's structure is known
    o.calibrate = RangeMethod::kMinMax;
    return o;
  }
};
FamilyRegistry QuantizeTest::families_;

std::size_t count_ops(const onnx::ModelProto& m, const std::string& op) {
  return static_cast<std::size_t>(std::count_if(m.graph().node().begin(), m.graph().node().end(),
                                                [&](const onnx::NodeProto& n) { return n.op_type() == op; }));
}

TEST(QdqPlan, QuantisesTheConvsThatFeedOthersFoldsTheirRelusAndKeepsTheFinalConvFp32) {
  auto fp32 = onnx_file::read_model(kModels + "/conv_grid_tiny.onnx");
  ASSERT_TRUE(fp32) << fp32.error().message;
  auto model = at_least_opset13(*fp32);
  ASSERT_TRUE(model) << model.error().message;
  int opset = 0;
  for (const auto& op : model->opset_import()) {
    if (op.domain().empty()) opset = static_cast<int>(op.version());
  }
  EXPECT_EQ(opset, 13);
  name_nodes(*model);
  QdqPlan plan = plan_qdq(*model, PlanOptions{});
  EXPECT_EQ(plan.nodes, (std::vector<std::string>{"conv1", "conv2"}));
  ASSERT_EQ(plan.kept_fp32.size(), 1U);
  EXPECT_EQ(plan.kept_fp32[0].rfind("conv3 (Conv)", 0), 0U) << plan.kept_fp32[0];
  EXPECT_EQ(plan.activations, (std::vector<std::string>{"images", "relu1", "relu2"}));
  EXPECT_EQ(plan.relu.size(), 2U);
  plan = plan_qdq(*model, PlanOptions{true});
  EXPECT_EQ(plan.nodes.size(), 3U);
  EXPECT_TRUE(plan.kept_fp32.empty());
  EXPECT_EQ(plan.activations.back(), "features");  // conv3's output, read by AveragePool
}

// X -> conv_a -> A -> MaxPool -> M; Concat(M, A) -> C -> conv_b -> B -> conv_c -> Y, and a Shape of A
// (int64).
onnx::ModelProto small_pyramid() {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  const auto value = [](onnx::ValueInfoProto* v, const std::string& name) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (const std::int64_t d : {1, 3, 8, 8}) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  value(g->add_input(), "X");
  const auto weight = [&](const std::string& name, std::int64_t out, std::int64_t in) {
    std::vector<float> w(static_cast<std::size_t>(out * in), 0.5F);
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    onnx_file::set_raw(*t, onnx::TensorProto::FLOAT, {out, in, 1, 1}, w.data(), w.size() * sizeof(float));
  };
  weight("wa", 4, 3);
  weight("wb", 4, 8);
  weight("wc", 2, 4);
  const auto node = [&](const std::string& op, const std::string& name, std::vector<std::string> in,
                        std::vector<std::string> out) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : in) n->add_input(i);
    for (const auto& o : out) n->add_output(o);
    return n;
  };
  node("Conv", "conv_a", {"X", "wa"}, {"A"});
  onnx::NodeProto* pool = node("MaxPool", "pool", {"A"}, {"M"});
  onnx::AttributeProto* k = pool->add_attribute();
  k->set_name("kernel_shape");
  k->set_type(onnx::AttributeProto::INTS);
  k->add_ints(1);
  k->add_ints(1);
  onnx::NodeProto* concat = node("Concat", "concat", {"M", "A"}, {"C"});
  onnx::AttributeProto* axis = concat->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(1);
  node("Conv", "conv_b", {"C", "wb"}, {"B"});
  node("Conv", "conv_c", {"B", "wc"}, {"Y"});
  node("Shape", "shape", {"A"}, {"S"});
  value(g->add_output(), "Y");
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(
      2);
  onnx::ValueInfoProto* s = g->add_output();
  s->set_name("S");
  s->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  return m;
}

TEST(QdqPlan, DataBetweenQuantisedLayersStaysEightBitWithValueMovingOpsTiedToTheirInput) {
  const QdqPlan plan = plan_qdq(small_pyramid(), PlanOptions{});
  EXPECT_EQ(plan.nodes, (std::vector<std::string>{"conv_a", "conv_b"}));
  EXPECT_EQ(plan.kept_fp32.size(), 1U);
  // conv_a's input and output, conv_b's (its output feeds only the final conv, which reads it), then
  // MaxPool's output (tied to A). The int64 Shape output is never quantised.
  EXPECT_EQ(plan.activations, (std::vector<std::string>{"X", "A", "C", "B", "M"}));
  EXPECT_EQ(plan.tied, (std::vector<std::pair<std::string, std::string>>{{"M", "A"}}));
  std::map<std::string, Range> ranges{
      {"X", {0, 1}}, {"A", {-1, 3}}, {"B", {0, 4}}, {"M", {-0.5F, 2}}, {"C", {-1, 3}}};
  auto qdq = make_qdq(small_pyramid(), plan, ranges);
  ASSERT_TRUE(qdq) << qdq.error().message;
  const auto scale = [&](const std::string& t) {
    return (*onnx_file::float_values(*onnx_file::find_initializer(*qdq, t + "_scale")))[0];
  };
  EXPECT_EQ(scale("M"), scale("A")) << "MaxPool's output reuses its input's parameters";
  EXPECT_FLOAT_EQ(scale("A"), 4.F / 255.F);
  EXPECT_FLOAT_EQ(scale("B"), 4.F / 255.F);
}

// Deterministic samples for the range tests.
class Samples {
 public:
  float uniform() {  // (0, 1)
    state_ = state_ * 1664525U + 1013904223U;
    return (static_cast<float>(state_ >> 8U) + 0.5F) / static_cast<float>(1U << 24U);
  }
  float normal() {  // about normal, standard deviation 1
    float sum = 0.F;
    for (int k = 0; k < 12; ++k) sum += uniform();
    return sum - 6.F;
  }
  float laplace() {  // scale 1: heavier tails than a normal's, as conv outputs have
    const float side = uniform();
    const float e = -std::log(uniform());
    return side < 0.5F ? -e : e;
  }

 private:
  std::uint32_t state_ = 12345U;
};

Range min_max(const std::vector<float>& values) {
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  return Range{*lo, *hi};
}

// A conv output as PicoDet's first one: most values near 0, a few far outliers. Min/max spends the 255
// steps on the outliers and rounds nearly every other value to 0; the percentile range clips the outliers
// and keeps the small values. The squared error, which the outliers dominate, is least with them kept.
TEST(CalibrationRange, PercentileClipsRareOutliersAndKeepsTheSmallValues) {
  Samples samples;
  std::vector<float> body;
  for (int i = 0; i < 100000; ++i) body.push_back(samples.normal());
  std::vector<float> values = body;
  for (int i = 0; i < 4; ++i) {
    values.push_back(600.F);
    values.push_back(-540.F);
  }
  const Range minmax = min_max(values);
  Histogram h(minmax);
  h.add(values);
  EXPECT_DOUBLE_EQ(h.total(), static_cast<double>(values.size()));
  const Range pct = percentile_range(h, 99.99);
  EXPECT_LT(pct.max, 10.F) << pct.min << ".." << pct.max;
  EXPECT_GT(pct.min, -10.F);
  EXPECT_GT(pct.max, 3.F) << "the body of the distribution still fits";
  EXPECT_LT(pct.min, -3.F);
  const double body_minmax = squared_quantization_error(body, activation_params(minmax));
  const double body_pct = squared_quantization_error(body, activation_params(pct));
  EXPECT_LT(body_pct, 0.01 * body_minmax);
  // Eight outliers of 600 outweigh 100000 values' rounding: the least-squares range keeps them.
  const Range mse = mse_range(h);
  EXPECT_GT(mse.max, 0.9F * minmax.max);
  EXPECT_LE(squared_quantization_error(values, activation_params(mse)),
            squared_quantization_error(values, activation_params(minmax)));
}

// Heavy tails (Laplace): the least-squares range clips the sparse tail, whose few values cost less clipped
// than the coarser steps would cost every value; the histogram's estimate matches the exact error.
TEST(CalibrationRange, MseClipsAHeavyTailAndLowersTheError) {
  Samples samples;
  std::vector<float> values;
  for (int i = 0; i < 200000; ++i) values.push_back(samples.laplace());
  const Range minmax = min_max(values);
  Histogram h(minmax);
  h.add(values);
  const Range mse = mse_range(h);
  EXPECT_LT(mse.max, 0.9F * minmax.max) << mse.min << ".." << mse.max;
  EXPECT_GT(mse.min, 0.9F * minmax.min) << mse.min << ".." << mse.max;
  const double minmax_error = squared_quantization_error(values, activation_params(minmax));
  const double mse_error = squared_quantization_error(values, activation_params(mse));
  EXPECT_LT(mse_error, 0.85 * minmax_error);
  EXPECT_NEAR(expected_squared_error(h, activation_params(minmax)), minmax_error, 0.05 * minmax_error);
  EXPECT_NEAR(expected_squared_error(h, activation_params(mse)), mse_error, 0.05 * mse_error);
}

TEST(CalibrationRange, WithoutOutliersNothingClips) {
  std::vector<float> values;
  for (int i = 0; i <= 20000; ++i) values.push_back(-1.F + 2.F * static_cast<float>(i) / 20000.F);
  Histogram h(Range{-1.F, 1.F});
  h.add(values);
  const Range mse = mse_range(h);
  EXPECT_LT(mse.min, -0.97F);
  EXPECT_GT(mse.max, 0.97F);
  const Range pct = percentile_range(h, 99.99);
  EXPECT_LT(pct.min, -0.99F);
  EXPECT_GT(pct.max, 0.99F);
  // A Relu output (nothing below 0): the low end stays at 0.
  Histogram relu(Range{0.F, 1.F});
  relu.add(std::vector<float>(values.begin() + 10000, values.end()));
  EXPECT_EQ(mse_range(relu).min, 0.F);
  EXPECT_GT(mse_range(relu).max, 0.97F);
  // A constant tensor keeps its one value.
  Histogram flat(Range{2.F, 2.F});
  flat.add({2.F, 2.F});
  EXPECT_EQ(mse_range(flat).max, 2.F);
  EXPECT_EQ(percentile_range(flat, 99.9).max, 2.F);
}

TEST_F(QuantizeTest, WritesAnInt8QdqModelThatOnnxRuntimeRunsCloseToFp32) {
  test::write_grid_dataset(dir_.path() / "data", 8, 8, false);
  auto report = run_quantize(options(dir_.path() / "data"), repo_, families_);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->written) << report->refused;
  EXPECT_EQ(report->split, "val");
  EXPECT_EQ(report->eval_images, 8U);
  EXPECT_EQ(report->calibration_images, 8U);
  EXPECT_FALSE(report->calibration_overlaps_evaluation);
  EXPECT_EQ(report->quantized_layers, 2U);
  EXPECT_GT(report->ap_fp32, 0.9);
  EXPECT_GE(report->ap_change_points(), -1.0);
  EXPECT_GT(report->forward_ms_int8, 0.0);

  // The folder: the graph and a spec that says INT8 and names the graph by its sha256.
  const fs::path folder = dir_.path() / "out" / "conv_grid_tiny_int8";
  EXPECT_EQ(report->folder, folder.string());
  EXPECT_FALSE(fs::exists(dir_.path() / "out" / ".conv_grid_tiny_int8.partial"));
  std::ifstream spec_in(folder / "conv_grid_tiny_int8.json");
  const nlohmann::json spec = nlohmann::json::parse(spec_in);
  EXPECT_EQ(spec["precision"], "int8");
  EXPECT_EQ(spec["quantized_from"], "conv_grid_tiny");
  EXPECT_EQ(spec["weights"]["file"], "conv_grid_tiny_int8.onnx");
  EXPECT_EQ(spec["weights"]["sha256"], *sha256_file((folder / "conv_grid_tiny_int8.onnx").string()));
  EXPECT_EQ(spec["quantization"]["kept_fp32"].size(), 1U);
  EXPECT_TRUE(spec["quantization"].contains("evaluation"));

  // The graph: int8 weights behind DequantizeLinear, Q/DQ pairs on the activations, no float conv1/conv2
  // weights left, and the folded Relus gone.
  auto qdq = onnx_file::read_model((folder / "conv_grid_tiny_int8.onnx").string());
  ASSERT_TRUE(qdq) << qdq.error().message;
  EXPECT_EQ(count_ops(*qdq, "QuantizeLinear"), 3U);
  EXPECT_EQ(count_ops(*qdq, "DequantizeLinear"), 3U + 2U + 2U);  // activations, weights, biases
  EXPECT_EQ(count_ops(*qdq, "Relu"), 0U);
  EXPECT_EQ(onnx_file::find_initializer(*qdq, "w1"), nullptr);
  const onnx::TensorProto* w1 = onnx_file::find_initializer(*qdq, "conv1_weight_quantized");
  ASSERT_NE(w1, nullptr);
  EXPECT_EQ(w1->data_type(), onnx::TensorProto::INT8);
  const onnx::TensorProto* w1_scale = onnx_file::find_initializer(*qdq, "conv1_weight_scale");
  ASSERT_NE(w1_scale, nullptr);
  EXPECT_EQ(onnx_file::element_count(*w1_scale), 6) << "one scale per output channel";

  // ONNX Runtime loads it, and its outputs stay close to the FP32 graph's on a validation image.
  auto fp32_session = open_onnx_session(kModels + "/conv_grid_tiny.onnx", RuntimeOptions{1, false});
  auto int8_session =
      open_onnx_session((folder / "conv_grid_tiny_int8.onnx").string(), RuntimeOptions{1, false});
  ASSERT_TRUE(fp32_session) << fp32_session.error().message;
  ASSERT_TRUE(int8_session) << int8_session.error().message;
  auto bytes = read_file_bytes((dir_.path() / "data" / "images" / "val" / "img0.png").string(), 1U << 20U);
  ASSERT_TRUE(bytes);
  auto image = decode_image(*bytes, DecodeLimits{});
  ASSERT_TRUE(image);
  auto spec_fp32 = repo_.find_spec("conv_grid_tiny");
  ASSERT_TRUE(spec_fp32);
  const PreparedInput input = preprocess_image(image->image, spec_fp32->preprocess);
  auto a = (*fp32_session)->run(input.tensor, input.shape);
  auto b = (*int8_session)->run(input.tensor, input.shape);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->front().data.size(), b->front().data.size());
  float worst = 0.F;
  for (std::size_t i = 0; i < a->front().data.size(); ++i) {
    worst = std::max(worst, std::fabs(a->front().data[i] - b->front().data[i]));
  }
  EXPECT_LT(worst, 0.05F) << "scores are in [-1, 1]; one uint8 step of the activations is 2/255";

  // The INT8 spec loads as any model does.
  auto int8_spec = repo_.find_spec((folder / "conv_grid_tiny_int8.json").string());
  ASSERT_TRUE(int8_spec) << int8_spec.error().message;
  EXPECT_TRUE(Detector::load(*int8_spec, repo_, families_, RuntimeOptions{1, false}));

  // A second run into the same folder is refused: nothing is overwritten.
  auto again = run_quantize(options(dir_.path() / "data"), repo_, families_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(QuantizeTest, RefusesWhenUnrepresentativeCalibrationCostsApUnlessForced) {
  // Calibrated on near-black images, the input range ends below the validation images' colours: every
  // colour clips, every cell scores alike, AP collapses.
  test::write_grid_dataset(dir_.path() / "data", 8, 8, true);
  auto report = run_quantize(options(dir_.path() / "data"), repo_, families_);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->written);
  EXPECT_GT(report->ap_fp32, 0.9);
  EXPECT_LT(report->ap_change_points(), -1.0);
  EXPECT_NE(report->refused.find("--force"), std::string::npos) << report->refused;
  EXPECT_FALSE(fs::exists(dir_.path() / "out" / "conv_grid_tiny_int8"));
  EXPECT_FALSE(fs::exists(dir_.path() / "out" / ".conv_grid_tiny_int8.partial"));

  QuantizeOptions forced = options(dir_.path() / "data");
  forced.force = true;
  report = run_quantize(forced, repo_, families_);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->written);
  EXPECT_TRUE(fs::exists(dir_.path() / "out" / "conv_grid_tiny_int8" / "conv_grid_tiny_int8.onnx"));
}

TEST_F(QuantizeTest, AutoTriesTheFinalLayersInFp32AndInt8AndWritesTheOneItChose) {
  test::write_grid_dataset(dir_.path() / "data", 8, 8, false);
  QuantizeOptions o = options(dir_.path() / "data");
  o.final_layers = FinalLayers::kAuto;
  auto report = run_quantize(o, repo_, families_);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->written) << report->refused;
  ASSERT_EQ(report->candidates.size(), 2U);
  EXPECT_EQ(report->candidates[0].final_layers, "fp32") << report->candidates[0].line();
  EXPECT_EQ(report->candidates[1].final_layers, "int8") << report->candidates[1].line();
  EXPECT_NE(report->candidates[0].chosen, report->candidates[1].chosen);
  EXPECT_EQ(report->quantized_layers, report->final_layers == "int8" ? 3U : 2U);
  // Only the chosen graph is left, and the spec says which it is.
  const fs::path folder = dir_.path() / "out" / "conv_grid_tiny_int8";
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) files += entry.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 2U);
  std::ifstream spec_in(folder / "conv_grid_tiny_int8.json");
  const nlohmann::json spec = nlohmann::json::parse(spec_in);
  EXPECT_EQ(spec["quantization"]["final_layers"], report->final_layers);
  EXPECT_EQ(spec["weights"]["sha256"], *sha256_file((folder / "conv_grid_tiny_int8.onnx").string()));
  EXPECT_EQ(spec["quantization"]["evaluation"]["candidates"].size(), 2U);
}

TEST_F(QuantizeTest, MseAndPercentileCalibrationKeepApAndTheSpecSaysWhichRangesWereUsed) {
  test::write_grid_dataset(dir_.path() / "data", 8, 8, false);
  for (const RangeMethod method : {RangeMethod::kMse, RangeMethod::kPercentile}) {
    QuantizeOptions o = options(dir_.path() / "data");
    o.calibrate = method;
    o.name = std::string("grid_") + range_method_name(method);
    auto report = run_quantize(o, repo_, families_);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_TRUE(report->written) << report->refused;
    EXPECT_EQ(report->calibrate, range_method_name(method));
    EXPECT_GE(report->ap_change_points(), -1.0);
    std::ifstream spec_in(dir_.path() / "out" / o.name / (o.name + ".json"));
    const nlohmann::json spec = nlohmann::json::parse(spec_in);
    EXPECT_EQ(spec["quantization"]["calibrate"], range_method_name(method));
  }
  QuantizeOptions bad = options(dir_.path() / "data");
  bad.calibrate = RangeMethod::kPercentile;
  bad.percentile = 40;
  auto r = run_quantize(bad, repo_, families_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(QuantizeTest, BadOptionsAreErrorsAndWriteNothing) {
  test::write_grid_dataset(dir_.path() / "data", 2, 2, false);
  QuantizeOptions o = options(dir_.path() / "data");
  o.images = 0;
  auto r = run_quantize(o, repo_, families_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  o = options(dir_.path() / "data");
  o.model = "no_such_model";
  r = run_quantize(o, repo_, families_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  o = options(dir_.path() / "data");
  o.split = "test";
  r = run_quantize(o, repo_, families_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  o = options(dir_.path() / "missing");
  r = run_quantize(o, repo_, families_);
  ASSERT_FALSE(r);
  o = options(dir_.path() / "data");
  o.model = "grid_tiny";  // no convolution: nothing to quantise
  r = run_quantize(o, repo_, families_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidSpec);
  EXPECT_FALSE(fs::exists(dir_.path() / "out" / "conv_grid_tiny_int8"));
}

// The choice among candidates, on figures measured on coco128 (bench/RESULTS.md): AP 0..1, forward ms.
QuantizeCandidate figures(const char* calibrate, double ap, double forward_ms) {
  QuantizeCandidate c;
  c.calibrate = calibrate;
  c.final_layers = "fp32";
  c.ap = ap;
  c.forward_ms = forward_ms;
  return c;
}

TEST(QuantizeChoice, AutoCalibrationTakesPercentileWhenMinMaxLosesMoreThanTheLimit) {
  // yolox_nano: FP32 AP 33.3; min/max -20.9 (and a little faster), percentile 99.95 -0.9.
  const std::vector<QuantizeCandidate> yolox{figures("minmax", 0.124, 14.07),
                                             figures("percentile", 0.324, 14.37)};
  EXPECT_EQ(choose_candidate(yolox, 0.333, 1.0), 1U);
  // With a tighter limit neither is within: the more accurate one (then refused).
  EXPECT_EQ(choose_candidate(yolox, 0.333, 0.5), 1U);
  // Candidates over both range methods and final layers: the faster of those within.
  std::vector<QuantizeCandidate> four{figures("minmax", 0.124, 14.0), figures("minmax", 0.122, 13.0),
                                      figures("percentile", 0.324, 14.4), figures("percentile", 0.326, 13.1)};
  four[1].final_layers = four[3].final_layers = "int8";
  EXPECT_EQ(choose_candidate(four, 0.333, 1.0), 3U);
}

TEST(QuantizeChoice, AutoCalibrationKeepsMinMaxUnlessPercentileIsWithinAndFaster) {
  // nanodet_m_416: FP32 AP 29.3; min/max -0.3, percentile 99.95 -2.7.
  EXPECT_EQ(
      choose_candidate({figures("minmax", 0.290, 14.52), figures("percentile", 0.266, 12.0)}, 0.293, 1.0),
      0U);
  // Both within: the one tried first unless the other is more than 5 % faster.
  EXPECT_EQ(
      choose_candidate({figures("minmax", 0.290, 14.52), figures("percentile", 0.292, 14.0)}, 0.293, 1.0),
      0U);
  EXPECT_EQ(
      choose_candidate({figures("minmax", 0.290, 14.52), figures("percentile", 0.289, 13.0)}, 0.293, 1.0),
      1U);
  // Only min/max within.
  EXPECT_EQ(
      choose_candidate({figures("minmax", 0.290, 14.52), figures("percentile", 0.10, 14.52)}, 0.293, 1.0),
      0U);
}

TEST_F(QuantizeTest, AutoCalibrationTriesMinMaxAndPercentileFromOneCalibrationAndWritesTheChosenOne) {
  test::write_grid_dataset(dir_.path() / "data", 8, 8, false);
  QuantizeOptions o = options(dir_.path() / "data");
  o.calibrate = std::nullopt;  // auto, the default
  EXPECT_FALSE(QuantizeOptions{}.calibrate.has_value());
  auto report = run_quantize(o, repo_, families_);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->written) << report->refused;
  EXPECT_TRUE(report->calibrate_auto);
  ASSERT_EQ(report->candidates.size(), 2U);
  EXPECT_EQ(report->candidates[0].calibrate, "minmax");
  EXPECT_EQ(report->candidates[1].calibrate, "percentile");
  std::size_t chosen = 0;
  for (const QuantizeCandidate& c : report->candidates) {
    EXPECT_GT(c.forward_ms, 0.0) << c.line();
    EXPECT_GT(c.speedup, 0.0) << c.line();
    EXPECT_NEAR(c.ap_change_points, (c.ap - report->ap_fp32) * 100, 1e-9);
    if (c.chosen) {
      ++chosen;
      EXPECT_EQ(report->calibrate, c.calibrate);
      EXPECT_EQ(report->ap_int8, c.ap);
      EXPECT_NE(c.line().find("(chosen)"), std::string::npos) << c.line();
    }
  }
  EXPECT_EQ(chosen, 1U);
  // Only the chosen graph is left, and its spec says which ranges it has.
  const fs::path folder = dir_.path() / "out" / "conv_grid_tiny_int8";
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) files += entry.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 2U);
  std::ifstream spec_in(folder / "conv_grid_tiny_int8.json");
  const nlohmann::json spec = nlohmann::json::parse(spec_in);
  EXPECT_EQ(spec["quantization"]["calibrate"], report->calibrate);
  EXPECT_EQ(spec["quantization"]["evaluation"]["candidates"].size(), 2U);
  EXPECT_EQ(spec["weights"]["sha256"], *sha256_file((folder / "conv_grid_tiny_int8.onnx").string()));

  // With the final layers also tried both ways: four candidates, range method by range method.
  o.final_layers = FinalLayers::kAuto;
  o.name = "grid_all";
  report = run_quantize(o, repo_, families_);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->candidates.size(), 4U);
  const char* order[4][2] = {
      {"minmax", "fp32"}, {"minmax", "int8"}, {"percentile", "fp32"}, {"percentile", "int8"}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(report->candidates[i].calibrate, order[i][0]);
    EXPECT_EQ(report->candidates[i].final_layers, order[i][1]);
  }
}

TEST_F(QuantizeTest, AutoCalibrationKeepsMinMaxWhenPercentileRangesLoseTheAp) {
  // Percentile 51 keeps only the values around the grey background's: every coloured cell clips, and the
  // percentile graph (with nothing left float) scores nothing. Min/max keeps the AP: auto writes it.
  test::write_grid_dataset(dir_.path() / "data", 8, 8, false);
  QuantizeOptions o = options(dir_.path() / "data");
  o.calibrate = std::nullopt;
  o.percentile = 51;
  o.max_tensor_error = 1000;
  auto report = run_quantize(o, repo_, families_);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->candidates.size(), 2U);
  EXPECT_TRUE(report->candidates[0].within_limit) << report->candidates[0].line();
  EXPECT_FALSE(report->candidates[1].within_limit) << report->candidates[1].line();
  EXPECT_GT(report->candidates[1].clipped_tensors, 0U);
  EXPECT_TRUE(report->candidates[0].chosen);
  EXPECT_EQ(report->calibrate, "minmax");
  EXPECT_TRUE(report->written) << report->refused;
}

// Slow (label slow): a shipped detector on coco128, calibrated on 16 images. NanoDet is the family INT8
// speeds up (docs/performance.md).
// A shipped detector quantised with the default options on coco128's first `images` calibration images.
Result<QuantizeReport> quantize_shipped(const std::string& model, int images, int timing_runs,
                                        const test::TempDir& dir,
                                        std::optional<FinalLayers> final_layers = std::nullopt) {
  FamilyRegistry families;
  register_all_families(families);
  const ModelRepository repo = ModelRepository::with_defaults({});
  QuantizeOptions o;
  o.model = model;
  o.calibration = std::string(VISEARCH_SHARED_DIR) + "/data/coco128-train2017";
  o.images = images;
  o.out = dir.path().string();
  o.timing_runs = timing_runs;
  if (final_layers) o.final_layers = *final_layers;
  return run_quantize(o, repo, families);
}

TEST(QuantizeShipped, NanodetOnCoco128KeepsItsApWithinOnePoint) {
  test::TempDir dir;
  auto report = quantize_shipped("nanodet_m_416", 16, 5, dir);
  ASSERT_TRUE(report) << report.error().message;
  std::printf("nanodet_m_416 on coco128: AP %.3f -> %.3f, forward %.2f -> %.2f ms\n", report->ap_fp32,
              report->ap_int8, report->forward_ms_fp32, report->forward_ms_int8);
  for (const QuantizeCandidate& c : report->candidates) std::printf("  %s\n", c.line().c_str());
  EXPECT_TRUE(report->written) << report->refused;
  EXPECT_GE(report->ap_change_points(), -1.0);
  // The default, --calibrate auto, keeps min/max ranges for NanoDet (percentile loses more than a point).
  EXPECT_TRUE(report->calibrate_auto);
  EXPECT_EQ(report->calibrate, "minmax");
}

// Slow: the default, --calibrate auto, finds percentile ranges for YOLOX-Nano by itself: min/max is over the
// limit (-21 AP; outliers ahead of SiLU), percentile within (bench/RESULTS.md, "INT8: --calibrate auto").
TEST(QuantizeShipped, YoloxByDefaultChoosesPercentileRangesBecauseMinMaxLosesTheAp) {
  test::TempDir dir;
  auto report = quantize_shipped("yolox_nano", 32, 3, dir, FinalLayers::kFp32);
  ASSERT_TRUE(report) << report.error().message;
  for (const QuantizeCandidate& c : report->candidates) std::printf("  %s\n", c.line().c_str());
  ASSERT_EQ(report->candidates.size(), 2U);
  EXPECT_EQ(report->candidates[0].calibrate, "minmax");
  EXPECT_LT(report->candidates[0].ap_change_points, -10.0);
  EXPECT_FALSE(report->candidates[0].within_limit);
  EXPECT_TRUE(report->candidates[1].chosen);
  EXPECT_EQ(report->calibrate, "percentile");
  // The written percentile graph clips YOLOX's outliers (hundreds of ranges) and keeps its AP within a point.
  EXPECT_GT(report->clipped_tensors, 100U);
  EXPECT_TRUE(report->written) << report->refused;
  EXPECT_GE(report->ap_change_points(), -1.0);
}

}  // namespace
}  // namespace visearch::quantize
