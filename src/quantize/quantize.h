// `visearch quantize`: an INT8 (QDQ) copy of a detector, calibrated on the user's own images and proven on
// the same data set's evaluation split before it is written.
//
//   1. The FP32 graph (onnx/onnx_file.h) is brought to opset 13 and planned (quantize/qdq_graph.h).
//   2. Calibration: ONNX Runtime runs a copy of the graph whose every tensor to quantise is an extra output,
//      on N images of the data set (not the evaluation split's when the data set has another split), each
//      pre-processed by the model spec's own preprocess_image(); the min/max of each tensor over them is its
//      range (`calibrate` minmax), or a second pass histograms each tensor over that span and the range is
//      chosen from the histogram (percentile, mse: outliers clip); a further pass measures each tensor's
//      8-bit rounding error, and the too-noisy ones stay float.
//   3. The QDQ graph and a spec (the base spec's file, with the new name, weights and sha256, "precision":
//      "int8" and a "quantization" section) are written to OUT/.NAME.partial/.
//   4. The candidates (each range method tried, `calibrate` auto: min/max and percentile, times the final
//      layers FP32 and INT8, unless one is asked for) and the FP32 model are evaluated on the evaluation
//      split with eval::evaluate_model() (what `visearch eval` and `compare` run) and their bare forward
//      passes are timed alternately on one prepared image; choose_candidate() keeps one. The calibration
//      passes are shared: one min/max pass, one histogram pass for every clipping method, one error pass
//      measuring every method's ranges.
//   5. When AP drops by at most `max_ap_drop` points (or `force`), the folder is renamed to OUT/NAME/;
//      else it is removed and the report says why (`refused`; the CLI exits with kConflict's code).
//
// Thread-safety: run_quantize() is reentrant. Failure modes: kNotFound (model), kInvalidArgument (options,
// data set, split, an existing OUT/NAME), kInvalidSpec (not a detector, nothing to quantise, a graph the
// version converter refuses), kModelMissing/kChecksumMismatch (weights), kInference (ONNX Runtime), kIo.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "model/family_registry.h"
#include "model/model_repository.h"
#include "quantize/qdq_graph.h"

namespace visearch::quantize {

// The final prediction layers (those feeding no other quantised layer): auto tries both and keeps the faster
// of the models within the AP limit (by more than 5 %), else the more accurate.
enum class FinalLayers { kAuto, kFp32, kInt8 };

// The range methods `calibrate` auto tries. Min/max suits NanoDet, SSD and FastestDet (percentile costs
// NanoDet 2.7 AP on coco128); percentile suits YOLOX (-0.9 AP against min/max's -20.9). MSE is not tried:
// it never beat both on coco128 (as fast as min/max on NanoDet, further from FP32 on YOLOX, FastestDet and
// SSD's final layers), and each candidate costs one evaluation of the split.
inline constexpr RangeMethod kAutoRangeMethods[] = {RangeMethod::kMinMax, RangeMethod::kPercentile};

struct QuantizeOptions {
  std::string model;         // name or spec path
  std::string calibration;   // data set folder (or data.yaml / COCO json), as `eval` takes it
  std::string split;         // evaluation split; "" = automatic (eval::select_split)
  int images = 32;           // calibration images
  std::string out;           // OUT/NAME/ is written
  std::string name;          // "" = MODEL_int8
  bool force = false;        // write even when AP drops by more than max_ap_drop
  double max_ap_drop = 1.0;  // AP points (0..100 scale)
  FinalLayers final_layers = FinalLayers::kAuto;
  // How each activation's range is chosen from the calibration images (quantize/qdq_graph.h); nullopt =
  // auto: each of kAutoRangeMethods is a candidate, as the final layers are.
  std::optional<RangeMethod> calibrate;
  // kPercentile: each tail loses 100 - percentile % of the values. 99.95 kept YOLOX-Nano within a point on
  // coco128 (99.99: -10 AP, outliers still set the step; 99.9: -1.2, 99.8: -2.4, more tensors too noisy).
  double percentile = 99.95;
  // A tensor whose 8-bit rounding error (RMS, over the calibration images) exceeds this share of its own RMS
  // stays float, and the layers reading it FP32.
  double max_tensor_error = 0.1;
  int threads = 1;  // ONNX Runtime intra-op threads for calibration, evaluation and timing
  int timing_runs = 20;
  std::function<void(const std::string&)> message;  // progress lines
};

// One INT8 graph evaluated and timed against FP32: a range method and a choice of final layers.
struct QuantizeCandidate {
  std::string calibrate;     // "minmax", "percentile" or "mse"
  std::string final_layers;  // "fp32" or "int8"
  std::size_t quantized_layers = 0;
  std::size_t float_tensors = 0;    // activations left float (max_tensor_error) with these ranges
  std::size_t clipped_tensors = 0;  // activations whose range is narrower than their min/max
  double ap = 0, ap50 = 0;          // 0..1
  double forward_ms = 0;            // median, alternating with FP32 and the other candidates
  double ap_change_points = 0;      // against FP32
  double speedup = 0;               // FP32 forward ms / this one's
  bool within_limit = false;        // ap_change_points >= -max_ap_drop
  bool chosen = false;
  // "percentile, final layers fp32: AP 32.4 (-0.9), AP50 50.1, forward 14.37 ms (1.01x), 2 activations float"
  [[nodiscard]] std::string line() const;
};

// The candidate to keep, given each one's ap and forward_ms: the first one, replaced by each later one that
// is within `max_ap_drop` AP points of `ap_fp32` and more than 5 % faster (or within when the kept one is
// not), or, while none is within, by a more accurate one. So, in the order tried (min/max before
// percentile, final layers FP32 before INT8), the earlier one wins a tie.
std::size_t choose_candidate(const std::vector<QuantizeCandidate>& candidates, double ap_fp32,
                             double max_ap_drop);

struct QuantizeReport {
  std::string model;  // the FP32 model
  std::string name;   // the INT8 model
  std::string split;
  std::size_t calibration_images = 0;
  bool calibration_overlaps_evaluation = false;
  std::size_t eval_images = 0;
  std::size_t quantized_layers = 0;
  std::vector<std::string> kept_fp32;
  std::string final_layers;                   // "fp32" or "int8": the chosen candidate's
  std::vector<QuantizeCandidate> candidates;  // every candidate tried, in that order; one is `chosen`
  std::string calibrate;                      // the chosen range method: "minmax", "percentile" or "mse"
  bool calibrate_auto = false;                // the method was chosen among kAutoRangeMethods
  std::size_t clipped_tensors = 0;            // activations whose chosen range is narrower than their min/max
  std::size_t float_tensors = 0;              // activations left float because 8 bits lose (max_tensor_error)
  double ap_fp32 = 0, ap50_fp32 = 0, ap_int8 = 0, ap50_int8 = 0;  // 0..1
  double forward_ms_fp32 = 0, forward_ms_int8 = 0;                // medians, alternating runs
  int threads = 1;
  bool written = false;
  std::string refused;  // why it was not written (AP dropped too far); "" when written
  std::string folder;   // OUT/NAME when written
  std::string spec_path;

  [[nodiscard]] double ap_change_points() const { return (ap_int8 - ap_fp32) * 100.0; }
  [[nodiscard]] double speedup() const { return forward_ms_int8 > 0 ? forward_ms_fp32 / forward_ms_int8 : 0; }
};

// The measurements, and whether the model was written (`written`, else `refused` says why).
Result<QuantizeReport> run_quantize(const QuantizeOptions& options, const ModelRepository& repository,
                                    const FamilyRegistry& families);

}  // namespace visearch::quantize
