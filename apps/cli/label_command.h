#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch label DATASET_DIR`: the web annotation tool with model pre-labels (docs/labelling.md).
void add_label_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
