#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch models`: lists known models and whether their files are usable.
void add_models_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
