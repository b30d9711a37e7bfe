#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch eval`: COCO metrics of a model on a data set, or of existing COCO result files.
void add_eval_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
