// visearch: object detection and visual search on one machine.
// Each subcommand lives in its own file; this file only wires them up.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/catalog_command.h"
#include "cli/compare_command.h"
#include "cli/dataset_command.h"
#include "cli/detect_command.h"
#include "cli/eval_command.h"
#include "cli/label_command.h"
#include "cli/models_command.h"
#include "cli/quantize_command.h"
#include "cli/search_command.h"
#include "cli/search_eval_command.h"
#include "cli/serve_command.h"
#include "cli/train_command.h"
#include "core/error_table.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"visearch: CPU object detection and visual search"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "visearch 0.1.0");
  int exit_code = 0;
  visearch::cli::add_detect_command(app, &exit_code);
  visearch::cli::add_models_command(app, &exit_code);
  visearch::cli::add_eval_command(app, &exit_code);
  visearch::cli::add_compare_command(app, &exit_code);
  visearch::cli::add_dataset_command(app, &exit_code);
  visearch::cli::add_serve_command(app, &exit_code);
  visearch::cli::add_catalog_command(app, &exit_code);
  visearch::cli::add_search_command(app, &exit_code);
  visearch::cli::add_search_eval_command(app, &exit_code);
  visearch::cli::add_label_command(app, &exit_code);
  visearch::cli::add_train_command(app, &exit_code);
  visearch::cli::add_quantize_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is a usage error: exit 2, as documented (CLI11's
    // own codes, 105 for a failed check and so on, are not).
    return app.exit(e) == 0 ? 0 : visearch::error_info(visearch::ErrorCode::kInvalidArgument).exit_code;
  }
  return exit_code;
}

}  // namespace

// Last resort: an exception that escapes a command is a bug; report it on one
// line and exit with the internal-error status instead of terminating.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "visearch: error: internal: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "visearch: error: internal: unknown exception\n");
  }
  return visearch::error_info(visearch::ErrorCode::kInternal).exit_code;
}
