// Helpers for the labelling tests: a temporary folder removed at scope exit, small files, JPEG images.
#pragma once

#include <filesystem>
#include <string>

namespace visearch::labeling::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string str(const std::string& relative = "") const {
    return (path_ / relative).string();
  }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& path, const std::string& text);
std::string read_text(const std::filesystem::path& path);
// A width x height JPEG (stored upright, no EXIF).
void write_jpeg(const std::filesystem::path& path, int width, int height);
// A JPEG whose stored raster is rotated so that EXIF `orientation` shows it as upright_width x
// upright_height.
void write_jpeg_oriented(const std::filesystem::path& path, int upright_width, int upright_height,
                         int orientation);
// Every regular file under `dir` (recursive, relative paths) with its bytes, for "nothing written" checks.
std::string snapshot_tree(const std::filesystem::path& dir);

}  // namespace visearch::labeling::testing
