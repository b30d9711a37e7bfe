// Helpers for the labelling tests: a temporary folder removed at scope exit, small files, JPEG images.
#pragma once

#include <filesystem>
#include <string>

#include "support/temp_files.h"

namespace visearch::labeling::testing {

using visearch::test::read_text;
using visearch::test::snapshot_tree;
using visearch::test::TempDir;
using visearch::test::write_text;
// A width x height JPEG (stored upright, no EXIF).
void write_jpeg(const std::filesystem::path& path, int width, int height);
// A JPEG whose stored raster is rotated so that EXIF `orientation` shows it as upright_width x
// upright_height.
void write_jpeg_oriented(const std::filesystem::path& path, int upright_width, int upright_height,
                         int orientation);

}  // namespace visearch::labeling::testing
