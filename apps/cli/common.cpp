#include "cli/common.h"

#include <unistd.h>

#include <cstdio>

#include "core/error_table.h"
#include "families/all_families.h"

namespace visearch::cli {

void add_model_options(CLI::App& cmd, ModelOptions& options) {
  cmd.add_option("--model-dir", options.model_dirs,
                 "Directory holding weight files (repeatable); searched before $VISEARCH_MODEL_PATH and the "
                 "built-in fallback")
      ->allow_extra_args(false)  // one folder per --model-dir: the inputs after it stay inputs
      ->check(CLI::ExistingDirectory);
  cmd.add_option("--threads", options.threads, "Inference threads (intra-op); 0 = one per core")
      ->check(CLI::Range(0, 256));
}

void add_tile_options(CLI::App& cmd, TileOptions& options) {
  cmd.add_option_function<std::string>(
         "--tile",
         [&options](const std::string& text) {
           auto parsed = parse_tile(text, options);
           if (!parsed) throw CLI::ValidationError("--tile", parsed.error().message);
           options = *parsed;
         },
         "Also run the model on overlapping tiles: auto (only images much larger than the model's input), "
         "off (default) or WxH; see docs/tiling.md")
      ->type_name("auto|off|WxH");
  cmd.add_option_function<std::string>(
         "--tile-overlap",
         [&options](const std::string& text) {
           auto parsed = parse_tile_overlap(text);
           if (!parsed) throw CLI::ValidationError("--tile-overlap", parsed.error().message);
           options.overlap = *parsed;
         },
         "Share of a tile's side its neighbour also covers, 0..0.9 (default 0.25)")
      ->type_name("F");
}

ModelRepository make_repository(const ModelOptions& options) {
  return ModelRepository::with_defaults(options.model_dirs);
}

const FamilyRegistry& families() {
  return shipped_families();
}

int report_error(const Error& error) {
  std::fprintf(stderr, "visearch: error: %s\n", error.message.c_str());
  return error_info(error.code).exit_code;
}

int report_error(const std::string& context, const Error& error) {
  std::fprintf(stderr, "visearch: error: %s: %s\n", context.c_str(), error.message.c_str());
  return error_info(error.code).exit_code;
}

bool stderr_is_terminal() {
  return isatty(STDERR_FILENO) != 0;
}
bool stdout_is_terminal() {
  return isatty(STDOUT_FILENO) != 0;
}

}  // namespace visearch::cli
