// Options and helpers shared by the CLI subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "model/family_registry.h"
#include "model/model_repository.h"
#include "model/tiling.h"
#include "runtime/inference_session.h"

namespace visearch::cli {

struct ModelOptions {
  std::vector<std::string> model_dirs;
  int threads = 0;
};

void add_model_options(CLI::App& cmd, ModelOptions& options);
// --tile auto|off|WxH and --tile-overlap F (detect, eval, compare); a bad value is a usage error (exit 2).
void add_tile_options(CLI::App& cmd, TileOptions& options);
ModelRepository make_repository(const ModelOptions& options);
const FamilyRegistry& families();

// One line on stderr: "visearch: error: <message>". Returns the exit code for the error.
int report_error(const Error& error);
int report_error(const std::string& context, const Error& error);

bool stderr_is_terminal();
bool stdout_is_terminal();

}  // namespace visearch::cli
