#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch train`: fine-tunes a shipped detector on a labelled data set (src/train/trainer.h).
void add_train_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
