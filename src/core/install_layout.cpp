#include "core/install_layout.h"

#include <cstdlib>
#include <system_error>

namespace visearch {
namespace fs = std::filesystem;

namespace {

fs::path normal(const fs::path& path) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(path, ec);
  return ec ? path.lexically_normal() : out;
}

// The source tree a development build runs from: the nearest folder above the executable (the binary in
// build/, a test in build/tests/unit/x/) that holds the repository's CMakePresets.json and models/.
fs::path repository_root(const fs::path& exe_dir) {
  const fs::path presets = nearest_above(exe_dir, "CMakePresets.json");
  if (presets.empty()) return {};
  std::error_code ec;
  return fs::exists(presets.parent_path() / "models", ec) ? presets.parent_path() : fs::path();
}

}  // namespace

fs::path nearest_above(const fs::path& start, std::string_view relative) {
  fs::path dir = start;
  for (int up = 0; up < 6 && !dir.empty(); ++up) {
    std::error_code ec;
    if (fs::path candidate = dir / relative; fs::exists(candidate, ec)) return candidate;
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return {};
}

fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) return fs::current_path(ec);
  return exe.parent_path();
}

fs::path find_resource(std::string_view relative) {
  const fs::path exe = executable_dir();
  const fs::path installed = normal(exe / ".." / "share" / "visearch" / relative);
  std::error_code ec;
  if (fs::exists(installed, ec)) return installed;
  if (const fs::path root = repository_root(exe); !root.empty() && fs::exists(root / relative, ec)) {
    return normal(root / relative);
  }
  return installed;
}

std::vector<fs::path> default_weight_dirs() {
  const fs::path exe = executable_dir();
  std::vector<fs::path> dirs;
  if (const char* shared = std::getenv("VISEARCH_SHARED_DIR"); shared != nullptr && *shared != '\0') {
    dirs.push_back(fs::path(shared) / "models");
  }
  if (const fs::path root = repository_root(exe); !root.empty()) {
    dirs.push_back(normal(root / ".." / "shared" / "models"));
  }
  dirs.push_back(normal(exe / ".." / "share" / "visearch" / "models"));
  dirs.emplace_back("/var/lib/visearch/models");
  return dirs;
}

}  // namespace visearch
