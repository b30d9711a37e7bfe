// `visearch label DATASET_DIR [--format yolo|coco|voc] [--classes a,b,...] [--model NAME] [--map FILE]
//  [--port P] [--host H]`: opens the data set (labeling::LabelProject), checks the model and the label
// mapping, then runs the HTTP server with the label module and the web UI of web/label/.
#include "cli/label_command.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "cli/common.h"
#include "dataset/dataset.h"
#include "labeling/label_map.h"
#include "labeling/label_project.h"
#include "server/http_server.h"
#include "server/label_module.h"
#include "server/openapi_module.h"

namespace visearch::cli {
namespace {

struct LabelArgs {
  std::string dataset_dir;
  std::string format = "auto";
  std::string classes;
  std::string model = "picodet_s_416";
  std::string map_file;
  std::string host = "127.0.0.1";
  int port = 8090;
  std::vector<std::string> model_dirs;
  int workers = 1;
  std::string web_dir;  // "" = the page built into the binary
  float score_threshold = 0.5F;
  int max_body_mb = 20;
  std::string train_out;  // "" = DATASET_DIR/.visearch/models
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream parts(text);
  std::string item;
  while (std::getline(parts, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int run_label(const LabelArgs& args) {
  auto format = dataset::parse_format(args.format);
  if (!format) return report_error(format.error());
  const ModelRepository repository = ModelRepository::with_defaults(args.model_dirs);
  auto spec = repository.find_spec(args.model);
  if (!spec) return report_error(spec.error());
  if (spec->task != "detect") {
    return report_error(Error{ErrorCode::kInvalidArgument, "--model " + args.model + " is not a detector"});
  }
  if (const FileStatus weights = repository.status(spec->weights); !weights.present || !weights.checksum_ok) {
    return report_error(Error{ErrorCode::kModelMissing, "--model " + spec->name + ": " + weights.message});
  }
  std::optional<labeling::LabelMapFile> map_file;
  if (!args.map_file.empty()) {
    auto loaded = labeling::load_label_map(args.map_file);
    if (!loaded) return report_error(loaded.error());
    map_file = std::move(*loaded);
  }
  labeling::ProjectOptions project_options;
  project_options.path = args.dataset_dir;
  project_options.format = *format;
  project_options.classes = split_list(args.classes);
  project_options.fallback_classes =
      map_file && !map_file->classes.empty() ? map_file->classes : spec->labels;
  auto opened = labeling::LabelProject::open(project_options);
  if (!opened) return report_error(opened.error());
  std::shared_ptr<labeling::LabelProject> project = std::move(*opened);
  auto mapping = labeling::LabelMapping::build(spec->name, spec->labels, project->classes(),
                                               map_file ? &*map_file : nullptr);
  if (!mapping) return report_error(mapping.error());
  if (mapping->mapped_labels() == 0) {
    std::fprintf(
        stderr,
        "visearch label: warning: no label of %s maps to a class of the data set; pre-labels will be empty "
        "(give a --map file, see data/label_maps/)\n",
        spec->name.c_str());
  }
  const labeling::ProjectCounts counts = project->counts();
  std::fprintf(
      stderr,
      "visearch label: %s (%s%s, %zu classes): %zu images, %zu unlabelled, %zu pre-labelled, %zu reviewed; "
      "pre-labels from %s (%zu labels mapped)\n",
      project->root().c_str(), std::string(dataset::format_name(project->format())).c_str(),
      project->created() ? ", new" : "", project->classes().size(), counts.images, counts.unlabelled,
      counts.pre_labelled, counts.reviewed, spec->name.c_str(), mapping->mapped_labels());
  for (const std::string& warning : project->warnings()) {
    std::fprintf(stderr, "visearch label: warning: %s\n", warning.c_str());
  }
  std::fprintf(stderr, "visearch label: open http://%s:%d/ in a browser (Ctrl+C stops)\n",
               args.host == "0.0.0.0" ? "127.0.0.1" : args.host.c_str(), args.port);

  server::ServerOptions options;
  options.host = args.host;
  options.port = args.port;
  options.models = {args.model};  // a name or a spec path (a trained model's folder)
  options.model_dirs = args.model_dirs;
  options.workers = args.workers;
  options.threads_per_worker = 1;
  options.static_dir = args.web_dir;
  options.embedded_web_dir = "label";
  options.drain_timeout_ms = 10000;
  options.max_body_mb = args.max_body_mb;
  server::LabelModuleOptions module;
  module.project = project;
  module.model = spec->name;
  module.model_spec = args.model;
  module.train_out = args.train_out.empty()
                         ? (std::filesystem::path(project->root()) / ".visearch" / "models").string()
                         : args.train_out;
  module.mapping = std::move(*mapping);
  module.model_dirs = args.model_dirs;
  module.default_score_threshold = args.score_threshold;
  return server::run_server(options,
                            {server::label_module(std::move(module)), server::openapi_module("label")});
}

}  // namespace

void add_label_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<LabelArgs>();
  CLI::App* cmd = app.add_subcommand(
      "label",
      "Web annotation tool over a data-set folder, with model pre-labels (YOLO, COCO or Pascal VOC)");
  cmd->add_option("DATASET_DIR", args->dataset_dir,
                  "Data-set folder (YOLO, COCO or VOC layout, or a folder of raw photos)")
      ->required();
  cmd->add_option("--format", args->format,
                  "Label format: auto (detect; yolo for raw photos), yolo, coco, voc")
      ->check(CLI::IsMember({"auto", "yolo", "coco", "voc"}))
      ->capture_default_str();
  cmd->add_option(
      "--classes", args->classes,
      "Class names, comma-separated, for a new data set (default: the --map file's \"classes\", else "
      "the model's labels)");
  cmd->add_option("--model", args->model, "Detector for pre-labels")->capture_default_str();
  cmd->add_option("--map", args->map_file,
                  "Label mapping file: detector labels -> data-set classes (see data/label_maps/)");
  cmd->add_option("--host", args->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", args->port, "TCP port")->check(CLI::Range(1, 65535))->capture_default_str();
  cmd->add_option("--model-dir", args->model_dirs, "Directory holding weight files (repeatable)")
      ->allow_extra_args(false)  // one folder per --model-dir: DATASET_DIR after it stays DATASET_DIR
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--workers", args->workers, "Inference workers for single-image pre-labels")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  cmd->add_option("--max-body-mb", args->max_body_mb, "Largest request body (a label save); beyond: 413")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option(
         "--web-dir", args->web_dir,
         "Serve the annotation UI from this folder (development; default: the page built into the binary)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  cmd->add_option("--score-threshold", args->score_threshold,
                  "Initial score threshold of the proposal slider")
      ->check(CLI::Range(0.1, 1.0))
      ->capture_default_str();
  cmd->add_option("--train-out", args->train_out,
                  "Where the Train action writes model folders (default: DATASET_DIR/.visearch/models)");
  cmd->callback([args, exit_code] { *exit_code = run_label(*args); });
}

}  // namespace visearch::cli
