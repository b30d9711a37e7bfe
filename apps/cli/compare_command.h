#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch compare`: accuracy and speed of several models on one data set (table, JSON, SVG chart).
void add_compare_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
