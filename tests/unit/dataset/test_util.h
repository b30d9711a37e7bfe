// Helpers for the data-set tests: a temporary folder removed at scope exit, small files, and synthetic
// JPEG images whose content (and so dHash) differs with the seed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "support/temp_files.h"

#include "core/image.h"

namespace visearch::dataset::testing {

using visearch::test::read_text;
using visearch::test::TempDir;
using visearch::test::write_text;

// A w x h image of 8x8 random grey-level blocks (different seeds -> unrelated dHashes).
Image make_pattern(int width, int height, std::uint32_t seed);
// Writes make_pattern(...) as a JPEG.
void write_jpeg(const std::filesystem::path& path, int width, int height, std::uint32_t seed,
                int quality = 90);

// Files (not folders) under `dir`, recursively, as paths relative to it, sorted.
std::string list_tree(const std::filesystem::path& dir);

}  // namespace visearch::dataset::testing
