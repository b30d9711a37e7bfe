#include "quantize/quantize.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "dataset/atomic_file.h"
#include "dataset/class_map.h"
#include "dataset/dataset.h"
#include "eval/model_eval.h"
#include "io/image_decode.h"
#include "model/detector.h"
#include "model/preprocess.h"
#include "onnx/onnx_file.h"
#include "quantize/qdq_graph.h"
#include "runtime/inference_session.h"

namespace visearch::quantize {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Error invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message)};
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2.0;
}

Result<PreparedInput> prepare_file(const std::string& path, const PreprocessSpec& pre) {
  auto bytes = read_file_bytes(path, std::uint64_t{1} << 28U);
  if (!bytes) return bytes.error();
  auto decoded = decode_image(*bytes, DecodeLimits{});
  if (!decoded) return Unexpected{decoded.error().code, path + ": " + decoded.error().message};
  return preprocess_image(decoded->image, pre);  // the spec's own pre-processing, as detection does it
}

// Runs the calibration copy of the graph on each image and hands over every output.
Status for_each_output(const std::string& graph_path, const ModelSpec& spec,
                       const std::vector<std::string>& images, int threads,
                       const std::function<void(const Tensor&)>& each) {
  auto session = open_onnx_session(graph_path, RuntimeOptions{threads, false});
  if (!session) return session.error();
  for (const std::string& path : images) {
    auto prepared = prepare_file(path, spec.preprocess);
    if (!prepared) return prepared.error();
    auto outputs = prepared->bytes.empty() ? (*session)->run(prepared->tensor, prepared->shape)
                                           : (*session)->run_uint8(prepared->bytes, prepared->shape);
    if (!outputs) return outputs.error();
    for (const Tensor& t : *outputs) {
      if (!t.data.empty()) each(t);
    }
  }
  return Ok{};
}

// Median forward ms of each detector, alternating run by run on the same prepared input.
std::vector<double> time_forwards(const std::vector<const Detector*>& detectors, const PreparedInput& input,
                                  int runs) {
  std::vector<std::vector<double>> times(detectors.size());
  for (int r = 0; r < runs + 3; ++r) {
    for (std::size_t i = 0; i < detectors.size(); ++i) {
      const auto t0 = Clock::now();
      (void)detectors[i]->forward(input);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (r >= 3) times[i].push_back(ms);
    }
  }
  std::vector<double> out;
  for (auto& t : times) out.push_back(median(std::move(t)));
  return out;
}

// What the spec says of the activations' ranges.
std::string activations_text(RangeMethod method, double percentile) {
  std::string text = "uint8, asymmetric, per tensor, ";
  if (method == RangeMethod::kMinMax) return text + "calibration min/max";
  if (method == RangeMethod::kMse) {
    return text +
           "the clipping range of least squared 8-bit error over a histogram of the calibration values";
  }
  char p[100];
  std::snprintf(p, sizeof p, "between the calibration values' %g-th and %g-th percentiles",
                100.0 - percentile, percentile);
  return text + p;
}

std::vector<std::string> candidate_lines(const std::vector<QuantizeCandidate>& candidates) {
  std::vector<std::string> lines;
  for (const QuantizeCandidate& c : candidates) lines.push_back(c.line());
  return lines;
}

}  // namespace

std::string QuantizeCandidate::line() const {
  char text[300];
  std::snprintf(text, sizeof text,
                "%s, final layers %s: AP %.1f (%+.1f), AP50 %.1f, forward %.2f ms (%.2fx), %zu layers INT8, "
                "%zu activations float%s",
                calibrate.c_str(), final_layers.c_str(), ap * 100, ap_change_points, ap50 * 100, forward_ms,
                speedup, quantized_layers, float_tensors, chosen ? " (chosen)" : "");
  return text;
}

std::size_t choose_candidate(const std::vector<QuantizeCandidate>& candidates, double ap_fp32,
                             double max_ap_drop) {
  const auto within = [&](const QuantizeCandidate& c) { return (ap_fp32 - c.ap) * 100.0 <= max_ap_drop; };
  std::size_t chosen = 0;
  for (std::size_t i = 1; i < candidates.size(); ++i) {
    const QuantizeCandidate& a = candidates[chosen];
    const QuantizeCandidate& b = candidates[i];
    const bool better =
        within(b) ? (!within(a) || b.forward_ms < 0.95 * a.forward_ms) : (!within(a) && b.ap > a.ap);
    if (better) chosen = i;
  }
  return chosen;
}

Result<QuantizeReport> run_quantize(const QuantizeOptions& o, const ModelRepository& repository,
                                    const FamilyRegistry& families) {
  const auto say = [&](const std::string& text) {
    if (o.message) o.message(text);
  };
  if (o.images < 1) return invalid("--images must be at least 1");
  if (o.calibrate != RangeMethod::kMinMax && o.calibrate != RangeMethod::kMse &&
      !(o.percentile > 50.0 && o.percentile <= 100.0)) {
    return invalid("--percentile must be above 50 and at most 100");
  }
  if (o.out.empty()) return invalid("give --out DIR");
  if (o.calibration.empty()) return invalid("give --calibration DATASET_DIR");
  auto spec = repository.find_spec(o.model);
  if (!spec) return spec.error();
  if (spec->task != "detect") {
    return Unexpected{ErrorCode::kInvalidSpec, "model '" + spec->name + "' is not a detector (task " +
                                                   spec->task + "); quantize takes detectors"};
  }
  auto weights = repository.resolve(spec->weights);
  if (!weights) return weights.error();

  QuantizeReport report;
  report.model = spec->name;
  report.name = o.name.empty() ? spec->name + "_int8" : o.name;
  report.threads = o.threads;
  if (report.name.find('/') != std::string::npos || report.name.front() == '.') {
    return invalid("--name '" + report.name + "' must be a plain file name");
  }
  const fs::path final_dir = fs::path(o.out) / report.name;
  std::error_code ec;
  if (fs::exists(final_dir, ec)) {
    return invalid(final_dir.string() + " already exists; choose another --name or --out, or remove it");
  }

  // Data set, evaluation split, calibration images.
  auto ds = dataset::load_dataset(o.calibration);
  if (!ds) return ds.error();
  auto split = eval::select_split(*ds, o.split);
  if (!split) return split.error();
  std::vector<std::string> in_eval;
  std::vector<std::string> outside;
  for (const dataset::ImageRecord& image : ds->images) {
    if (image.path.empty()) continue;
    const bool evaluated = !split->has_value() || ds->in_split(image, **split);
    (evaluated ? in_eval : outside).push_back(image.path);
  }
  const std::vector<std::string>& pool = outside.empty() ? in_eval : outside;
  report.calibration_overlaps_evaluation = outside.empty();
  if (pool.empty()) return invalid(o.calibration + ": no readable image to calibrate on");
  std::vector<std::string> calibration;
  const std::size_t n = std::min(pool.size(), static_cast<std::size_t>(o.images));
  for (std::size_t i = 0; i < n; ++i) calibration.push_back(pool[i * pool.size() / n]);  // spread evenly
  report.calibration_images = calibration.size();

  // Graph and plans: the final layers FP32 and/or INT8.
  auto fp32 = onnx_file::read_model(weights->path);
  if (!fp32) return fp32.error();
  auto model = at_least_opset13(*fp32);
  if (!model) return model.error();
  name_nodes(*model);
  std::vector<std::pair<std::string, QdqPlan>> plans;  // (final layers "fp32" / "int8", plan)
  if (o.final_layers != FinalLayers::kInt8) plans.emplace_back("fp32", plan_qdq(*model, PlanOptions{false}));
  if (o.final_layers != FinalLayers::kFp32) {
    QdqPlan all = plan_qdq(*model, PlanOptions{true});
    // Only a candidate of its own when there are final layers to quantise.
    if (plans.empty() || all.nodes.size() != plans.front().second.nodes.size())
      plans.emplace_back("int8", all);
  }
  std::erase_if(plans, [](const auto& p) { return p.second.nodes.empty(); });
  if (plans.empty()) {
    return Unexpected{ErrorCode::kInvalidSpec,
                      "model '" + spec->name +
                          "' has no Conv, Gemm or MatMul layer with float weights to "
                          "quantise (outside its final layers)"};
  }
  std::vector<std::string> activations;  // every plan's, once
  for (const auto& [label, plan] : plans) {
    for (const std::string& t : plan.activations) {
      if (std::find(activations.begin(), activations.end(), t) == activations.end()) activations.push_back(t);
    }
  }

  const fs::path partial = fs::path(o.out) / ("." + report.name + ".partial");
  fs::remove_all(partial, ec);
  fs::create_directories(partial, ec);
  if (ec) return Unexpected{ErrorCode::kIo, "cannot create " + partial.string() + ": " + ec.message()};
  struct Cleanup {
    fs::path dir;
    bool keep = false;
    ~Cleanup() {
      std::error_code e;
      if (!keep) fs::remove_all(dir, e);
    }
  } cleanup{partial};

  say("calibrating " + std::to_string(activations.size()) + " tensors of " + spec->name + " on " +
      std::to_string(calibration.size()) + " images");
  const fs::path calib_path = partial / "calibration.onnx";
  if (auto st = onnx_file::write_model(with_outputs(*model, activations), calib_path.string()); !st) {
    return st.error();
  }
  std::map<std::string, Range> ranges;
  auto pass = for_each_output(calib_path.string(), *spec, calibration, o.threads, [&](const Tensor& t) {
    const auto [lo, hi] = std::minmax_element(t.data.begin(), t.data.end());
    auto [it, fresh] = ranges.try_emplace(t.name, Range{*lo, *hi});
    if (!fresh) {
      it->second.min = std::min(it->second.min, *lo);
      it->second.max = std::max(it->second.max, *hi);
    }
  });
  if (!pass) return pass.error();
  const std::map<std::string, Range>& min_max = ranges;
  // Each range method tried: its ranges, the tensors that lose in 8 bits with them, and its plans.
  struct MethodRanges {
    RangeMethod method = RangeMethod::kMinMax;
    std::map<std::string, Range> ranges;
    std::map<std::string, std::string> noisy;  // tensor -> why it stays float
    std::size_t clipped = 0;
    std::vector<std::pair<std::string, QdqPlan>> plans;  // (final layers, plan)
  };
  std::vector<MethodRanges> methods;
  if (o.calibrate) {
    methods.push_back(MethodRanges{*o.calibrate, min_max, {}, 0, {}});
  } else {
    for (const RangeMethod m : kAutoRangeMethods) methods.push_back(MethodRanges{m, min_max, {}, 0, {}});
  }
  report.calibrate_auto = !o.calibrate;
  if (std::any_of(methods.begin(), methods.end(),
                  [](const MethodRanges& m) { return m.method != RangeMethod::kMinMax; })) {
    // One pass fills a histogram of each tensor over its min/max; every clipping method reads it.
    std::map<std::string, Histogram> histograms;
    for (const auto& [t, r] : min_max) histograms.emplace(t, Histogram(r));
    pass = for_each_output(calib_path.string(), *spec, calibration, o.threads, [&](const Tensor& t) {
      if (const auto h = histograms.find(t.name); h != histograms.end()) h->second.add(t.data);
    });
    if (!pass) return pass.error();
    for (MethodRanges& m : methods) {
      if (m.method == RangeMethod::kMinMax) continue;
      for (auto& [t, r] : m.ranges) {
        const Histogram& h = histograms.at(t);
        r = m.method == RangeMethod::kMse ? mse_range(h) : percentile_range(h, o.percentile);
      }
    }
  }
  // Then: how much each tensor's pair would change it, as the RMS of the rounding and clipping error
  // over the RMS of the tensor, for every method's ranges in the same pass. Outliers make a min/max range
  // wide, and then most values fall into a few steps (YOLOX's and PicoDet's early activations); those
  // tensors stay float. (With a clipped range, the tensors whose outliers carry them lose too much: they
  // stay float too; taking their min/max range instead cost YOLOX 15 AP more on coco128.)
  std::map<std::string, double> signal;                              // tensor -> sum value^2
  std::vector<std::map<std::string, double>> error(methods.size());  // method -> tensor -> sum error^2
  pass = for_each_output(calib_path.string(), *spec, calibration, o.threads, [&](const Tensor& t) {
    if (!min_max.contains(t.name)) return;
    double& sig = signal[t.name];
    for (const float v : t.data) sig += static_cast<double>(v) * static_cast<double>(v);
    for (std::size_t i = 0; i < methods.size(); ++i) {
      error[i][t.name] += squared_quantization_error(t.data, activation_params(methods[i].ranges.at(t.name)));
    }
  });
  if (!pass) return pass.error();
  fs::remove(calib_path, ec);
  for (std::size_t i = 0; i < methods.size(); ++i) {
    MethodRanges& m = methods[i];
    for (const std::string& t : activations) {
      const Range r = m.ranges[t];
      if (const auto mm = min_max.find(t);
          mm != min_max.end() && (r.min > mm->second.min || r.max < mm->second.max)) {
        ++m.clipped;
      }
      const double sig = signal[t];
      const double relative = sig > 0 ? std::sqrt(error[i][t] / sig) : 0.0;
      if (relative > o.max_tensor_error) {
        char why[200];
        std::snprintf(why, sizeof why,
                      "%s loses in 8 bits (rounding error %.0f %% of its RMS; range %.3g..%.3g)", t.c_str(),
                      relative * 100, static_cast<double>(r.min), static_cast<double>(r.max));
        m.noisy[t] = why;
      }
    }
    for (const auto& [label, plan] : plans) {
      QdqPlan kept = without_tensors(*model, plan, m.noisy);
      if (!kept.nodes.empty()) m.plans.emplace_back(label, std::move(kept));
    }
  }
  if (std::all_of(methods.begin(), methods.end(), [](const MethodRanges& m) { return m.plans.empty(); })) {
    return Unexpected{ErrorCode::kInvalidSpec, "model '" + spec->name + "': every layer loses in 8 bits (" +
                                                   std::to_string(methods.front().noisy.size()) +
                                                   " tensors too noisy)"};
  }

  nlohmann::json base_json;
  {
    std::ifstream in(spec->source_path);
    base_json = nlohmann::json::parse(in, nullptr, false);
    if (base_json.is_discarded() || !base_json.is_object()) {
      return Unexpected{ErrorCode::kInvalidSpec, spec->source_path + ": cannot re-read the spec"};
    }
  }
  // Each candidate in a folder of its own: the QDQ graph and its spec.
  const RuntimeOptions runtime{o.threads, true};
  struct Candidate {
    QuantizeCandidate figures;
    const MethodRanges* method = nullptr;
    const QdqPlan* plan = nullptr;
    fs::path dir;
    nlohmann::json spec_json;
    std::unique_ptr<Detector> detector;
  };
  std::vector<Candidate> candidates;
  for (const MethodRanges& m : methods) {
    for (const auto& [label, plan] : m.plans) {
      Candidate c;
      c.figures.calibrate = range_method_name(m.method);
      c.figures.final_layers = label;
      c.figures.quantized_layers = plan.nodes.size();
      c.figures.float_tensors = m.noisy.size();
      c.figures.clipped_tensors = m.clipped;
      c.method = &m;
      c.plan = &plan;
      c.dir = partial / (c.figures.calibrate + "_final_layers_" + label);
      fs::create_directories(c.dir, ec);
      if (ec) return Unexpected{ErrorCode::kIo, "cannot create " + c.dir.string() + ": " + ec.message()};
      auto qdq = make_qdq(*model, plan, m.ranges);
      if (!qdq) return qdq.error();
      const fs::path onnx_path = c.dir / (report.name + ".onnx");
      if (auto st = dataset::write_file_atomic(onnx_path.string(), onnx_file::serialize(*qdq)); !st) {
        return st.error();
      }
      auto digest = sha256_file(onnx_path.string());
      if (!digest) return digest.error();
      nlohmann::json sj = base_json;
      sj["name"] = report.name;
      sj["description"] = "INT8 (QDQ) copy of " + spec->name + ", calibrated on " +
                          std::to_string(calibration.size()) + " images of " + o.calibration + ". " +
                          base_json.value("description", std::string());
      sj["weights"] = {{"file", report.name + ".onnx"}, {"sha256", *digest}};
      sj["precision"] = "int8";
      sj["quantized_from"] = spec->name;
      sj.erase("train");  // a QDQ graph is not a training base
      sj["quantization"] = {{"format", "qdq"},
                            {"weights", "int8, symmetric, per output channel"},
                            {"activations", activations_text(m.method, o.percentile)},
                            {"calibrate", c.figures.calibrate},
                            {"calibration", {{"data", o.calibration}, {"images", calibration.size()}}},
                            {"final_layers", label},
                            {"quantized_layers", plan.nodes.size()},
                            {"float_tensors", m.noisy.size()},
                            {"max_tensor_error", o.max_tensor_error},
                            {"kept_fp32", plan.kept_fp32}};
      const fs::path spec_path = c.dir / (report.name + ".json");
      if (auto st = dataset::write_file_atomic(spec_path.string(), sj.dump(2) + "\n"); !st) return st.error();
      auto int8_spec = repository.find_spec(spec_path.string());
      if (!int8_spec) return int8_spec.error();
      auto detector = Detector::load(*int8_spec, repository, families, runtime);
      if (!detector) return detector.error();
      c.detector = std::move(*detector);
      c.spec_json = std::move(sj);
      candidates.push_back(std::move(c));
    }
  }

  // Proof: the evaluation split, FP32 against each candidate, and the bare forward passes.
  auto fp32_detector = Detector::load(*spec, repository, families, runtime);
  if (!fp32_detector) return fp32_detector.error();
  eval::ModelEvalOptions eval_options;
  eval_options.split = o.split;
  auto class_map = dataset::load_default_class_map();
  if (!class_map) return class_map.error();
  eval_options.class_map = std::move(*class_map);
  say("evaluating " + spec->name + " (FP32)");
  auto fp32_eval = eval::evaluate_model(**fp32_detector, *ds, eval_options);
  if (!fp32_eval) return fp32_eval.error();
  report.split = fp32_eval->ground_truth.split_label;
  report.eval_images = fp32_eval->metrics.images;
  report.ap_fp32 = fp32_eval->metrics.stats[0];
  report.ap50_fp32 = fp32_eval->metrics.stats[1];
  std::vector<const Detector*> timed{fp32_detector->get()};
  for (Candidate& c : candidates) {
    say("evaluating " + report.name + " (INT8, " + c.figures.calibrate + " ranges, final layers " +
        c.figures.final_layers + ")");
    auto result = eval::evaluate_model(*c.detector, *ds, eval_options);
    if (!result) return result.error();
    c.figures.ap = result->metrics.stats[0];
    c.figures.ap50 = result->metrics.stats[1];
    timed.push_back(c.detector.get());
  }
  auto timing_input = prepare_file(in_eval.empty() ? calibration.front() : in_eval.front(), spec->preprocess);
  if (!timing_input) return timing_input.error();
  say("timing the forward passes");
  const std::vector<double> ms = time_forwards(timed, *timing_input, o.timing_runs);
  report.forward_ms_fp32 = ms[0];
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    QuantizeCandidate& f = candidates[i].figures;
    f.forward_ms = ms[i + 1];
    f.ap_change_points = (f.ap - report.ap_fp32) * 100.0;
    f.speedup = f.forward_ms > 0 ? report.forward_ms_fp32 / f.forward_ms : 0;
    f.within_limit = -f.ap_change_points <= o.max_ap_drop;
    report.candidates.push_back(f);
  }

  // The choice: one rule for the range methods and the final layers.
  const std::size_t chosen = choose_candidate(report.candidates, report.ap_fp32, o.max_ap_drop);
  report.candidates[chosen].chosen = true;
  Candidate& pick = candidates[chosen];
  pick.figures.chosen = true;
  report.final_layers = pick.figures.final_layers;
  report.calibrate = pick.figures.calibrate;
  report.clipped_tensors = pick.figures.clipped_tensors;
  report.float_tensors = pick.figures.float_tensors;
  report.quantized_layers = pick.plan->nodes.size();
  report.kept_fp32 = pick.plan->kept_fp32;
  report.ap_int8 = pick.figures.ap;
  report.ap50_int8 = pick.figures.ap50;
  report.forward_ms_int8 = pick.figures.forward_ms;

  const double drop = -report.ap_change_points();
  if (drop > o.max_ap_drop && !o.force) {
    char text[160];
    std::snprintf(text, sizeof text, "INT8 loses %.1f AP points (%.1f -> %.1f), more than %.1f", drop,
                  report.ap_fp32 * 100, report.ap_int8 * 100, o.max_ap_drop);
    report.refused = std::string(text) + "; not written (--force writes it anyway)";
    return report;
  }
  nlohmann::json& sj = pick.spec_json;
  sj["quantization"]["evaluation"] = {{"data", o.calibration},
                                      {"split", report.split},
                                      {"images", report.eval_images},
                                      {"ap_fp32", report.ap_fp32},
                                      {"ap_int8", report.ap_int8},
                                      {"forward_ms_fp32", report.forward_ms_fp32},
                                      {"forward_ms_int8", report.forward_ms_int8},
                                      {"threads", o.threads},
                                      {"candidates", candidate_lines(report.candidates)}};
  pick.detector.reset();
  for (Candidate& c : candidates) c.detector.reset();
  fs::rename(pick.dir / (report.name + ".onnx"), partial / (report.name + ".onnx"), ec);
  if (ec) return Unexpected{ErrorCode::kIo, "cannot move the chosen graph: " + ec.message()};
  const fs::path spec_path = partial / (report.name + ".json");
  if (auto st = dataset::write_file_atomic(spec_path.string(), sj.dump(2) + "\n"); !st) return st.error();
  for (const Candidate& c : candidates) fs::remove_all(c.dir, ec);
  fs::rename(partial, final_dir, ec);
  if (ec) return Unexpected{ErrorCode::kIo, "cannot rename " + partial.string() + ": " + ec.message()};
  cleanup.keep = true;
  report.written = true;
  report.folder = final_dir.string();
  report.spec_path = (final_dir / (report.name + ".json")).string();
  return report;
}

}  // namespace visearch::quantize
