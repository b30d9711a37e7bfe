#include "cli/compare_command.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/common.h"
#include "dataset/atomic_file.h"
#include "dataset/class_map.h"
#include "dataset/dataset.h"
#include "dataset/json_lines.h"
#include "eval/compare.h"
#include "eval/model_eval.h"

namespace visearch::cli {
namespace {

namespace fs = std::filesystem;

struct CompareArgs {
  ModelOptions model_options;
  std::string dataset;
  std::string models = "all";
  std::string format = "auto";
  std::string split;
  std::string images_dir;
  std::string out_dir;
  std::vector<std::string> class_maps;
  float score_threshold = 0.001F;
  float iou_threshold = 0.6F;
  int max_detections = 100;
  bool all_classes = false;
  TileOptions tile;
  bool json = false;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int run_compare(const CompareArgs& args) {
  auto format = dataset::parse_format(args.format);
  if (!format) return report_error(format.error());
  eval::ModelEvalOptions options;
  options.score_threshold = args.score_threshold;
  options.iou_threshold = args.iou_threshold;
  options.max_detections = args.max_detections;
  options.restrict_classes = !args.all_classes;
  options.tile = args.tile;
  options.split = args.split;
  auto class_map = dataset::load_default_class_map();
  if (!class_map) return report_error(class_map.error());
  options.class_map = std::move(*class_map);
  for (const std::string& file : args.class_maps) {
    auto extra = dataset::load_class_map(file);
    if (!extra) return report_error(extra.error());
    options.class_map.merge(*extra);
  }
  const ModelRepository repository = make_repository(args.model_options);
  std::vector<ModelSpec> specs;
  if (args.models == "all") {
    for (ModelSpec& spec : repository.list_specs()) {
      if (spec.task == "detect") specs.push_back(std::move(spec));
    }
  } else {
    for (const std::string& name : split_list(args.models)) {
      auto spec = repository.find_spec(name);
      if (!spec) return report_error(spec.error());
      specs.push_back(std::move(*spec));
    }
  }
  if (specs.empty()) return report_error(Error{ErrorCode::kNotFound, "no detection model to compare"});
  dataset::LoadOptions load;
  load.format = *format;
  load.images_dir = args.images_dir;
  auto ds = dataset::load_dataset(args.dataset, load);
  if (!ds) return report_error(ds.error());
  if (const std::size_t errors = dataset::count_errors(ds->diagnostics); errors > 0) {
    std::fprintf(stderr,
                 "visearch: warning: %zu problem(s) reading the data set (see `visearch dataset check`)\n",
                 errors);
  }
  RuntimeOptions runtime;
  runtime.intra_op_threads = args.model_options.threads;
  std::vector<eval::CompareRow> rows;
  std::string split_label;
  int exit_code = 0;
  for (const ModelSpec& spec : specs) {
    eval::CompareRow row;
    row.model = spec.name;
    row.family = spec.family;
    if (stderr_is_terminal()) std::fprintf(stderr, "%s ...\n", spec.name.c_str());
    auto detector = Detector::load(spec, repository, families(), runtime);
    if (!detector) {
      row.error = detector.error().message;
      exit_code = std::max(exit_code, report_error(spec.name, detector.error()));
      rows.push_back(std::move(row));
      continue;
    }
    auto result = eval::evaluate_model(**detector, *ds, options);
    if (!result) {
      row.error = result.error().message;
      exit_code = std::max(exit_code, report_error(spec.name, result.error()));
      rows.push_back(std::move(row));
      continue;
    }
    split_label = result->ground_truth.split_label;
    row.ok = true;
    row.ap = result->metrics.stats[0];
    row.ap50 = result->metrics.stats[1];
    row.ap75 = result->metrics.stats[2];
    row.p50_ms = result->p50_ms();
    row.images_per_second = result->images_per_second();
    row.images = result->metrics.images;
    rows.push_back(std::move(row));
  }
  eval::mark_pareto_front(rows);
  const std::string markdown = eval::compare_markdown(rows, args.dataset, split_label);
  const nlohmann::json json = eval::compare_json(rows, args.dataset, split_label);
  if (!args.out_dir.empty()) {
    const fs::path out(args.out_dir);
    const std::string svg =
        eval::compare_svg(rows, "AP vs latency on " + fs::path(args.dataset).filename().string());
    for (const auto& [name, text] :
         {std::pair<const char*, std::string>{"compare.md", markdown},
          std::pair<const char*, std::string>{"compare.json", dataset::dump_json(json) + "\n"},
          std::pair<const char*, std::string>{"compare.svg", svg}}) {
      if (auto st = dataset::write_file_atomic((out / name).string(), text); !st)
        return report_error(st.error());
    }
  }
  if (args.json) {
    std::cout << dataset::dump_json(json) << '\n';
  } else {
    std::cout << markdown;
    if (!args.out_dir.empty()) std::printf("\nwrote %s/compare.{md,json,svg}\n", args.out_dir.c_str());
  }
  return exit_code;
}

}  // namespace

void add_compare_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd =
      app.add_subcommand("compare", "Compare models on one data set: AP, AP50, p50 latency, images/s, chart");
  cmd->add_option("-d,--dataset", args->dataset, "Data set: folder, data.yaml, COCO .json or VOC folder")
      ->required();
  cmd->add_option("--models", args->models, "all, or a comma-separated list of model names")
      ->capture_default_str();
  cmd->add_option("--format", args->format, "Data-set format")
      ->check(CLI::IsMember({"auto", "yolo", "coco", "voc"}))
      ->capture_default_str();
  cmd->add_option("--split", args->split,
                  "Split to evaluate (default: the only one, else val; 'all' for every image)");
  cmd->add_option("--images", args->images_dir,
                  "Folder holding the images when the annotations are elsewhere")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--out", args->out_dir, "Write compare.md, compare.json and compare.svg here");
  cmd->add_option("--score-threshold", args->score_threshold, "Minimum detection score")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--iou-threshold", args->iou_threshold, "NMS IoU threshold")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--max-detections", args->max_detections, "Detections kept per image")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--class-map", args->class_maps, "Extra class-name synonyms (repeatable)")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  cmd->add_flag("--all-classes", args->all_classes,
                "Detect every model class and drop unscored ones after NMS and the cut");
  add_tile_options(*cmd, args->tile);
  cmd->add_flag("--json", args->json, "Print JSON instead of the Markdown table");
  add_model_options(*cmd, args->model_options);
  cmd->callback([args, exit_code] { *exit_code = run_compare(*args); });
}

}  // namespace visearch::cli
