#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch quantize`: an INT8 (QDQ) copy of a detector, calibrated on a data set and written only when its
// AP on the data set's evaluation split stays within 1 point of the FP32 model's (src/quantize/quantize.h).
void add_quantize_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
