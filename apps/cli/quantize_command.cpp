#include "cli/quantize_command.h"

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "quantize/quantize.h"

namespace visearch::cli {
namespace {

struct QuantizeArgs {
  quantize::QuantizeOptions options;
  ModelOptions model_options;
  bool json = false;
  std::string final_layers = "auto";
  std::string calibrate = "auto";
};

int run_quantize_command(QuantizeArgs& args) {
  quantize::QuantizeOptions& o = args.options;
  o.threads = args.model_options.threads;
  o.final_layers = args.final_layers == "fp32"   ? quantize::FinalLayers::kFp32
                   : args.final_layers == "int8" ? quantize::FinalLayers::kInt8
                                                 : quantize::FinalLayers::kAuto;
  if (args.calibrate == "minmax") o.calibrate = quantize::RangeMethod::kMinMax;
  if (args.calibrate == "percentile") o.calibrate = quantize::RangeMethod::kPercentile;
  if (args.calibrate == "mse") o.calibrate = quantize::RangeMethod::kMse;  // "auto": nullopt, try them
  const bool tty = stderr_is_terminal();
  o.message = [tty](const std::string& text) {
    if (tty) std::fprintf(stderr, "visearch quantize: %s\n", text.c_str());
  };
  auto report = quantize::run_quantize(o, make_repository(args.model_options), families());
  if (!report) return report_error(report.error());
  const quantize::QuantizeReport& r = *report;
  if (args.json) {
    nlohmann::json candidates = nlohmann::json::array();
    for (const quantize::QuantizeCandidate& c : r.candidates) {
      candidates.push_back({{"calibrate", c.calibrate},
                            {"final_layers", c.final_layers},
                            {"ap", c.ap},
                            {"ap50", c.ap50},
                            {"ap_change_points", c.ap_change_points},
                            {"forward_ms", c.forward_ms},
                            {"speedup", c.speedup},
                            {"quantized_layers", c.quantized_layers},
                            {"float_tensors", c.float_tensors},
                            {"clipped_tensors", c.clipped_tensors},
                            {"within_limit", c.within_limit},
                            {"chosen", c.chosen}});
    }
    std::printf("%s\n", nlohmann::json{{"model", r.model},
                                       {"int8_model", r.name},
                                       {"split", r.split},
                                       {"eval_images", r.eval_images},
                                       {"calibration_images", r.calibration_images},
                                       {"calibration_overlaps_evaluation", r.calibration_overlaps_evaluation},
                                       {"quantized_layers", r.quantized_layers},
                                       {"kept_fp32", r.kept_fp32},
                                       {"final_layers", r.final_layers},
                                       {"candidates", candidates},
                                       {"calibrate", r.calibrate},
                                       {"calibrate_auto", r.calibrate_auto},
                                       {"clipped_tensors", r.clipped_tensors},
                                       {"float_tensors", r.float_tensors},
                                       {"ap_fp32", r.ap_fp32},
                                       {"ap_int8", r.ap_int8},
                                       {"ap50_fp32", r.ap50_fp32},
                                       {"ap50_int8", r.ap50_int8},
                                       {"ap_change_points", r.ap_change_points()},
                                       {"forward_ms_fp32", r.forward_ms_fp32},
                                       {"forward_ms_int8", r.forward_ms_int8},
                                       {"speedup", r.speedup()},
                                       {"threads", r.threads},
                                       {"written", r.written},
                                       {"spec", r.spec_path}}
                            .dump()
                            .c_str());
  } else {
    std::printf("%s vs %s on split '%s' (%zu images; calibrated on %zu images%s)\n\n", r.model.c_str(),
                r.name.c_str(), r.split.c_str(), r.eval_images, r.calibration_images,
                r.calibration_overlaps_evaluation ? ", the same split: the data set has no other" : "");
    std::printf("| model | precision | AP | AP50 | forward ms (%d thread%s) |\n|---|---|---|---|---|\n",
                r.threads, r.threads == 1 ? "" : "s");
    std::printf("| %s | FP32 | %.1f | %.1f | %.2f |\n", r.model.c_str(), r.ap_fp32 * 100, r.ap50_fp32 * 100,
                r.forward_ms_fp32);
    std::printf("| %s | INT8 | %.1f | %.1f | %.2f |\n\n", r.name.c_str(), r.ap_int8 * 100, r.ap50_int8 * 100,
                r.forward_ms_int8);
    std::printf(
        "AP change %+.1f points, forward speed-up %.2fx; %zu layers INT8, %zu kept FP32, %zu activations "
        "float; ranges by %s%s (%zu clipped), final layers %s\n",
        r.ap_change_points(), r.speedup(), r.quantized_layers, r.kept_fp32.size(), r.float_tensors,
        r.calibrate.c_str(), r.calibrate_auto ? ", chosen by --calibrate auto" : "", r.clipped_tensors,
        r.final_layers.c_str());
    for (const std::string& k : r.kept_fp32) std::printf("  FP32: %s\n", k.c_str());
    if (r.candidates.size() > 1) {
      std::printf(
          "\nCandidates (the faster within --max-ap-drop is kept; by more than 5 %%, else the one tried "
          "first):\n\n| calibrate | final layers | AP | AP change | forward ms | speed-up | layers INT8 | "
          "activations float | |\n|---|---|---|---|---|---|---|---|---|\n");
      for (const quantize::QuantizeCandidate& c : r.candidates) {
        std::printf("| %s | %s | %.1f | %+.1f | %.2f | %.2fx | %zu | %zu | %s |\n", c.calibrate.c_str(),
                    c.final_layers.c_str(), c.ap * 100, c.ap_change_points, c.forward_ms, c.speedup,
                    c.quantized_layers, c.float_tensors,
                    c.chosen ? "chosen" : (c.within_limit ? "" : "over the AP limit"));
      }
      std::printf("\n");
    }
    if (r.speedup() < 1.0) {
      std::printf(
          "note: the INT8 model is not faster than FP32 on this CPU (its float activations between 8-bit "
          "layers cost more than the integer kernels save); keep the FP32 model\n");
    }
    if (r.written) std::printf("written: %s\n", r.spec_path.c_str());
  }
  if (!r.written) return report_error(Error{ErrorCode::kConflict, r.refused});
  return 0;
}

}  // namespace

void add_quantize_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "Write an INT8 copy of a detector, calibrated and checked on your own data set");
  quantize::QuantizeOptions& o = args->options;
  cmd->add_option("--model", o.model, "Detector to quantise (name or spec .json)")->required();
  cmd->add_option("--calibration", o.calibration, "Data set folder, data.yaml or COCO .json")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--images", o.images, "Calibration images")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--split", o.split, "Evaluation split (default: the validation split)");
  cmd->add_option("--out", o.out, "Output folder (OUT/NAME/ is written)")->required();
  cmd->add_option("--name", o.name, "Name of the INT8 model (default: MODEL_int8)");
  cmd->add_option("--max-ap-drop", o.max_ap_drop, "AP points the INT8 model may lose before it is refused")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_flag("--force", o.force, "Write the INT8 model even when it loses more AP than --max-ap-drop");
  cmd->add_option(
         "--final-layers", args->final_layers,
         "The final prediction layers: auto (try FP32 and INT8, keep the faster within the AP limit), "
         "fp32 or int8")
      ->check(CLI::IsMember({"auto", "fp32", "int8"}))
      ->capture_default_str();
  cmd->add_option(
         "--calibrate", args->calibrate,
         "How activation ranges are chosen: auto (try minmax and percentile, keep the faster within the "
         "AP limit), minmax (nothing clips), percentile (--percentile of each tail) or mse (the clipping "
         "range of least squared 8-bit error)")
      ->check(CLI::IsMember({"auto", "minmax", "percentile", "mse"}))
      ->capture_default_str();
  cmd->add_option("--percentile", o.percentile,
                  "--calibrate percentile or auto: keep the values up to this percentile")
      ->check(CLI::Range(50.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--max-tensor-error", o.max_tensor_error,
                  "Leave float an activation whose 8-bit rounding error exceeds this share of its RMS")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the report as one JSON object");
  add_model_options(*cmd, args->model_options);
  args->model_options.threads = 1;
  cmd->callback([args, exit_code] { *exit_code = run_quantize_command(*args); });
}

}  // namespace visearch::cli
