#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch serve`: the HTTP service (apps/server).
void add_serve_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
