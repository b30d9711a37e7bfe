// Temporary folders and small files for tests: a folder removed at scope exit, text written with its
// parent folders created, a file read whole, a whole tree as text.
#pragma once

#include <filesystem>
#include <string>

namespace visearch::test {

class TempDir {
 public:
  TempDir();  // a new empty folder under the system temporary directory (mkdtemp)
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string str(const std::string& relative = "") const {
    return (path_ / relative).string();
  }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& path, const std::string& text);
std::string read_text(const std::filesystem::path& path);
// Every regular file under `dir` (recursive, sorted relative paths) with its bytes, for "nothing was
// written" checks.
std::string snapshot_tree(const std::filesystem::path& dir);

}  // namespace visearch::test
