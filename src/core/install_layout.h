// Where the binary finds the files it ships with (model specs, class maps, label mappings, web pages) and
// where it looks for model weights by default, all relative to the executable itself: no path of the
// build machine is compiled in, so a copied or installed binary works the same.
//
//   installed (cmake --install, the .deb):  PREFIX/bin/visearch, PREFIX/share/visearch/{models,data,web}
//   build tree (presets build inside the repository):  REPO/build/visearch, REPO/{models,data,web}; the
//   repository is the nearest folder above the executable with CMakePresets.json and models/ (so test and
//   bench executables deeper in build/ find it too)
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

namespace visearch {

// The folder of the running executable (/proc/self/exe); the current folder when it cannot be read.
[[nodiscard]] std::filesystem::path executable_dir();

// `relative` (e.g. "models", "data/class_maps") under the first resource root that has it: the installed
// PREFIX/share/visearch, then the repository the build folder is in. When none has it, the installed
// location, so that a message can name where it belongs.
[[nodiscard]] std::filesystem::path find_resource(std::string_view relative);

// `relative` under `start` or the nearest of its (up to five) parent folders that has it; empty when none
// does. For files a build tree keeps beside its executables (the build folder's ort/ link).
[[nodiscard]] std::filesystem::path nearest_above(const std::filesystem::path& start,
                                                  std::string_view relative);

// Folders searched for weights after --model-dir and $VISEARCH_MODEL_PATH: $VISEARCH_SHARED_DIR/models
// when set; in a build tree, the repository's sibling `shared/models` (the development layout);
// PREFIX/share/visearch/models; and /var/lib/visearch/models.
[[nodiscard]] std::vector<std::filesystem::path> default_weight_dirs();

}  // namespace visearch
