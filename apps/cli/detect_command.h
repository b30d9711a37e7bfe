#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch detect`: registers the subcommand; the callback sets *exit_code.
void add_detect_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
