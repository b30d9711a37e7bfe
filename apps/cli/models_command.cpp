#include "cli/models_command.h"
#include "core/json_text.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/common.h"
#include "service/detect_service.h"

namespace visearch::cli {
namespace {

struct ModelsArgs {
  ModelOptions model_options;
  std::string format;
};

int run_models(const ModelsArgs& args) {
  const ModelRepository repository = make_repository(args.model_options);
  std::vector<Error> problems;
  const std::vector<ModelSpec> specs = repository.list_specs(&problems);
  for (const Error& problem : problems) report_error(problem);
  const bool as_json = args.format.empty() ? !stdout_is_terminal() : args.format == "json";
  if (!as_json) {
    std::printf("%-22s %-11s %-9s %-7s %-8s %s\n", "NAME", "FAMILY", "INPUT", "CLASSES", "WEIGHTS", "FILE");
  }
  for (const ModelSpec& spec : specs) {
    const FileStatus status = repository.status(spec.weights);
    if (as_json) {
      nlohmann::json j = model_to_json(spec);
      j.erase("labels");
      j["weights"] = {{"file", spec.weights.file}, {"sha256", spec.weights.sha256},
                      {"present", status.present}, {"checksum_ok", status.checksum_ok},
                      {"path", status.path},       {"status", status.message}};
      std::cout << to_json_text(j) << '\n';
    } else {
      const PreprocessSpec& pre = spec.preprocess;
      const std::string input =
          pre.resize == ResizeMode::kKeepAspect  // the tensor follows the image: its side bounds
              ? std::to_string(pre.min_side) + ".." + std::to_string(pre.max_side)
              : std::to_string(pre.size.width) + "x" + std::to_string(pre.size.height);
      std::printf("%-22s %-11s %-9s %-7zu %-8s %s\n", spec.name.c_str(), spec.family.c_str(), input.c_str(),
                  spec.labels.size(), status.message.c_str(),
                  status.present ? status.path.c_str() : spec.weights.file.c_str());
    }
  }
  if (!as_json) {
    std::printf("\nWeights are searched in:");
    for (const std::string& dir : repository.model_dirs()) std::printf(" %s", dir.c_str());
    std::printf("\n");
  }
  return problems.empty() ? 0 : 3;
}

}  // namespace

void add_models_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ModelsArgs>();
  CLI::App* cmd = app.add_subcommand("models", "List known models, their weight files and checksum status");
  add_model_options(*cmd, args->model_options);
  cmd->add_option("--format", args->format, "json or table")->check(CLI::IsMember({"json", "table"}));
  cmd->callback([args, exit_code] { *exit_code = run_models(*args); });
}

}  // namespace visearch::cli
