#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch dataset convert|check|split`: YOLO / COCO / Pascal VOC data-set tools.
void add_dataset_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
