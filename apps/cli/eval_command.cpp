#include "cli/eval_command.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/common.h"
#include "dataset/atomic_file.h"
#include "dataset/class_map.h"
#include "dataset/coco.h"
#include "dataset/dataset.h"
#include "dataset/json_lines.h"
#include "eval/coco_files.h"
#include "eval/model_eval.h"

namespace visearch::cli {
namespace {

namespace fs = std::filesystem;

struct EvalArgs {
  ModelOptions model_options;
  std::string model;
  std::string dataset;
  std::string format = "auto";
  std::string split;
  std::string images_dir;
  std::string out_dir;
  std::string ground_truth;
  std::string detections;
  std::vector<std::string> class_maps;
  float score_threshold = 0.001F;
  float iou_threshold = 0.6F;
  int max_detections = 100;
  bool all_classes = false;
  bool agnostic_nms = false;
  TileOptions tile;
  std::string difficult = "normal";
  bool json = false;
  std::size_t max_diagnostics = 20;
};

// Prints diagnostics to stderr (at most `limit`); returns the number of errors among them.
std::size_t print_diagnostics(const dataset::Diagnostics& diagnostics, std::size_t limit) {
  std::size_t shown = 0;
  for (const dataset::Diagnostic& d : diagnostics) {
    if (shown++ < limit) std::fprintf(stderr, "visearch: %s\n", d.to_string().c_str());
  }
  if (shown > limit) std::fprintf(stderr, "visearch: ... %zu more problem(s)\n", shown - limit);
  return dataset::count_errors(diagnostics);
}

Status write_json(const fs::path& path, const nlohmann::json& value, bool coco_layout = false) {
  return dataset::write_file_atomic(
      path.string(), coco_layout ? dataset::dump_coco_json(value) : dataset::dump_json(value) + "\n");
}

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  void operator()(std::size_t done, std::size_t total) const {
    if (!enabled_) return;
    std::fprintf(stderr, "\r%zu/%zu images", done, total);
    if (done == total) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
};

int run_files(const EvalArgs& args) {
  auto loaded = eval::load_coco_evaluation(args.ground_truth, args.detections);
  if (!loaded) return report_error(loaded.error());
  const std::size_t errors = print_diagnostics(loaded->diagnostics, args.max_diagnostics);
  auto metrics = eval::evaluate_bbox(loaded->input);
  if (!metrics) return report_error(metrics.error());
  nlohmann::json out = eval::to_json(*metrics);
  out["ground_truth"] = args.ground_truth;
  out["detections_file"] = args.detections;
  out["detections_remapped"] = loaded->detections_remapped;
  if (!args.out_dir.empty()) {
    if (auto st = write_json(fs::path(args.out_dir) / "metrics.json", out); !st)
      return report_error(st.error());
  }
  if (args.json) {
    std::cout << dataset::dump_json(out) << '\n';
  } else {
    std::printf("%zu images, %zu ground-truth boxes, %zu detections\n", metrics->images,
                metrics->ground_truth, metrics->detections);
    std::cout << eval::to_text(*metrics);
  }
  return errors > 0 ? 1 : 0;
}

int run_model(const EvalArgs& args) {
  auto format = dataset::parse_format(args.format);
  if (!format) return report_error(format.error());
  eval::ModelEvalOptions options;
  options.score_threshold = args.score_threshold;
  options.iou_threshold = args.iou_threshold;
  options.max_detections = args.max_detections;
  options.restrict_classes = !args.all_classes;
  options.agnostic_nms = args.agnostic_nms;
  options.tile = args.tile;
  options.split = args.split;
  options.difficult_as_ignore = args.difficult == "ignore";
  auto class_map = dataset::load_default_class_map();
  if (!class_map) return report_error(class_map.error());
  options.class_map = std::move(*class_map);
  for (const std::string& file : args.class_maps) {
    auto extra = dataset::load_class_map(file);
    if (!extra) return report_error(extra.error());
    options.class_map.merge(*extra);
  }
  const ModelRepository repository = make_repository(args.model_options);
  auto spec = repository.find_spec(args.model);
  if (!spec) return report_error(spec.error());
  if (spec->task != "detect") {
    return report_error(Error{ErrorCode::kInvalidArgument, "model '" + spec->name + "' is not a detector"});
  }
  dataset::LoadOptions load;
  load.format = *format;
  load.images_dir = args.images_dir;
  auto ds = dataset::load_dataset(args.dataset, load);
  if (!ds) return report_error(ds.error());
  // A split data.yaml names but that is missing matters only when it is the split evaluated: a missing
  // train folder is a warning when val is evaluated.
  if (auto split = eval::select_split(*ds, args.split); split && split->has_value()) {
    for (dataset::Diagnostic& d : ds->diagnostics) {
      if (d.split.empty() || d.split == **split) continue;
      // The key's other sources may be the evaluated split under its folder's name (train -> train2017).
      const auto alias = ds->split_aliases.find(d.split);
      if (alias != ds->split_aliases.end() && alias->second == **split) continue;
      d.severity = dataset::Severity::kWarning;
    }
  }
  std::size_t errors = print_diagnostics(ds->diagnostics, args.max_diagnostics);
  RuntimeOptions runtime;
  runtime.intra_op_threads = args.model_options.threads;
  auto detector = Detector::load(*spec, repository, families(), runtime);
  if (!detector) return report_error(detector.error());
  options.progress = Progress(stderr_is_terminal());
  auto result = eval::evaluate_model(**detector, *ds, options);
  if (!result) return report_error(result.error());
  errors += print_diagnostics(result->ground_truth.diagnostics, args.max_diagnostics);
  const nlohmann::json metrics = eval::evaluation_to_json(*result, args.dataset, options);
  if (!args.out_dir.empty()) {
    const fs::path out(args.out_dir);
    for (const auto& [name, value, coco] :
         {std::tuple<const char*, nlohmann::json, bool>{"metrics.json", metrics, false},
          std::tuple<const char*, nlohmann::json, bool>{
              "detections.json", eval::detections_to_coco_json(result->ground_truth.input.detections), false},
          std::tuple<const char*, nlohmann::json, bool>{
              "ground_truth.json", eval::ground_truth_to_coco_json(result->ground_truth), true}}) {
      if (auto st = write_json(out / name, value, coco); !st) return report_error(st.error());
    }
  }
  if (args.json) {
    std::cout << dataset::dump_json(metrics) << '\n';
  } else {
    const eval::CocoMetrics& m = result->metrics;
    std::printf("%s on %s (split %s): %zu images, %zu ground-truth boxes, %zu detections\n",
                result->model.c_str(), args.dataset.c_str(), result->ground_truth.split_label.c_str(),
                m.images, m.ground_truth, m.detections);
    std::printf("settings: score >= %g, NMS IoU %g%s, at most %d detections per image%s\n",
                static_cast<double>(args.score_threshold), static_cast<double>(args.iou_threshold),
                args.agnostic_nms ? " (class-agnostic)" : "", args.max_detections,
                args.tile.mode == TileMode::kOff ? ""
                                                 : (", tile " + tile_text(args.tile) + " overlap " +
                                                    std::to_string(args.tile.overlap).substr(0, 4) +
                                                    (args.tile.merge == TileMerge::kNms ? " merge nms" : ""))
                                                       .c_str());
    for (const auto& [from, to] : result->ground_truth.match.renamed) {
      std::printf("class '%s' evaluated as model class '%s'\n", from.c_str(), to.c_str());
    }
    std::cout << eval::to_text(m);
    std::printf(
        "speed: p50 %.1f ms per image (preprocess + inference + postprocess), %.1f images/s with decoding\n",
        result->p50_ms(), result->images_per_second());
    if (!args.out_dir.empty()) {
      std::printf("wrote %s/{metrics,detections,ground_truth}.json\n", args.out_dir.c_str());
    }
  }
  return errors > 0 ? 1 : 0;
}

int run_eval(const EvalArgs& args) {
  const bool files = !args.ground_truth.empty() || !args.detections.empty();
  const bool model = !args.model.empty() || !args.dataset.empty();
  if (files == model) {
    return report_error(Error{ErrorCode::kInvalidArgument,
                              "give either --model and --dataset, or --ground-truth and --detections"});
  }
  if (files && (args.ground_truth.empty() || args.detections.empty())) {
    return report_error(Error{ErrorCode::kInvalidArgument, "--ground-truth and --detections go together"});
  }
  if (model && (args.model.empty() || args.dataset.empty())) {
    return report_error(Error{ErrorCode::kInvalidArgument, "--model and --dataset go together"});
  }
  return files ? run_files(args) : run_model(args);
}

}  // namespace

void add_eval_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval",
                                     "COCO metrics (pycocotools-exact): a model on a data set, or existing "
                                     "COCO detections against ground truth");
  cmd->add_option("-m,--model", args->model, "Model name (see `visearch models`) or spec .json");
  cmd->add_option("-d,--dataset", args->dataset, "Data set: folder, data.yaml, COCO .json or VOC folder");
  cmd->add_option("--format", args->format, "Data-set format")
      ->check(CLI::IsMember({"auto", "yolo", "coco", "voc"}))
      ->capture_default_str();
  cmd->add_option("--split", args->split,
                  "Split to evaluate (default: the only one, else val; 'all' for every image)");
  cmd->add_option("--images", args->images_dir,
                  "Folder holding the images when the annotations are elsewhere")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--ground-truth", args->ground_truth,
                  "COCO instances JSON (with --detections: no model is run)");
  cmd->add_option("--detections", args->detections, "COCO results JSON to score against --ground-truth");
  cmd->add_option("-o,--out", args->out_dir,
                  "Write metrics.json (and detections.json, ground_truth.json) here");
  cmd->add_option("--score-threshold", args->score_threshold, "Minimum detection score")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--iou-threshold", args->iou_threshold, "NMS IoU threshold")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--max-detections", args->max_detections, "Detections kept per image")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_flag(
      "--all-classes", args->all_classes,
      "Detect every model class and drop unscored ones after NMS and the cut (default: detect only the "
      "data set's classes)");
  cmd->add_flag("--agnostic-nms", args->agnostic_nms, "Class-agnostic NMS");
  add_tile_options(*cmd, args->tile);
  cmd->add_option_function<std::string>(
         "--tile-merge",
         [args](const std::string& text) {
           auto merge = parse_tile_merge(text);
           if (!merge) throw CLI::ValidationError("--tile-merge", merge.error().message);
           args->tile.merge = *merge;
         },
         "How tiled passes are merged: edge (default: cut boxes covered by another pass go, then NMS) or nms "
         "(plain NMS; for measurements)")
      ->type_name("edge|nms");
  cmd->add_option("--class-map", args->class_maps,
                  "Extra class-name synonyms {\"map\": {\"data-set name\": \"model name\"}} (repeatable); "
                  "data/class_maps/*.json is always used")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  cmd->add_option("--difficult", args->difficult, "VOC difficult boxes: normal ground truth, or ignored")
      ->check(CLI::IsMember({"normal", "ignore"}))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the metrics as JSON instead of text");
  add_model_options(*cmd, args->model_options);
  cmd->callback([args, exit_code] { *exit_code = run_eval(*args); });
}

}  // namespace visearch::cli
