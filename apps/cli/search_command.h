#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch search IMAGE...`: detects the objects in each photo and ranks catalog products for each
// (the same JSON as POST /v1/search). Registers the subcommand; the callback sets *exit_code.
void add_search_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
