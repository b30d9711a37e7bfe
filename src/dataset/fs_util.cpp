#include "dataset/fs_util.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "dataset/atomic_file.h"

namespace visearch::dataset::detail {

namespace fs = std::filesystem;

bool has_extension(const fs::path& path, std::string_view ext) {
  const std::string actual = path.extension().string();
  if (actual.size() != ext.size()) return false;
  for (std::size_t i = 0; i < ext.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(actual[i])) !=
        std::tolower(static_cast<unsigned char>(ext[i]))) {
      return false;
    }
  }
  return true;
}

bool has_image_extension(const fs::path& path) {
  return has_extension(path, ".jpg") || has_extension(path, ".jpeg") || has_extension(path, ".png") ||
         has_extension(path, ".webp") || has_extension(path, ".bmp");
}

std::vector<fs::path> list_files(const fs::path& dir, bool recursive, bool (*keep)(const fs::path&)) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec) && keep(it->path())) out.push_back(it->path());
    }
  } else {
    for (auto it = fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec) && keep(it->path())) out.push_back(it->path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string find_in_dirs(const std::vector<fs::path>& dirs, const std::string& relative) {
  if (relative.empty()) return {};
  std::error_code ec;
  const fs::path rel(relative);
  if (rel.is_absolute()) return fs::is_regular_file(rel, ec) ? rel.string() : std::string();
  for (const fs::path& dir : dirs) {
    if (dir.empty()) continue;
    const fs::path candidate = dir / rel;
    if (fs::is_regular_file(candidate, ec)) return candidate.lexically_normal().string();
  }
  // COCO file names sometimes carry a folder ("train2017/x.jpg") that the layout does not have.
  if (rel.has_parent_path()) {
    for (const fs::path& dir : dirs) {
      if (dir.empty()) continue;
      const fs::path candidate = dir / rel.filename();
      if (fs::is_regular_file(candidate, ec)) return candidate.lexically_normal().string();
    }
  }
  return {};
}

std::string find_image_by_stem(const fs::path& dir, const std::string& stem) {
  static constexpr std::string_view kExtensions[] = {".jpg", ".jpeg", ".png", ".webp", ".bmp",
                                                     ".JPG", ".JPEG", ".PNG", ".WEBP", ".BMP"};
  std::error_code ec;
  for (std::string_view ext : kExtensions) {
    const fs::path candidate = dir / (stem + std::string(ext));
    if (fs::is_regular_file(candidate, ec)) return candidate.lexically_normal().string();
  }
  return {};
}

std::string relative_to(const fs::path& path, const fs::path& base) {
  const fs::path rel = path.lexically_normal().lexically_relative(base.lexically_normal());
  if (rel.empty() || *rel.begin() == "..") return path.generic_string();
  return rel.generic_string();
}

Status place_image(const ImageRecord& record, const std::string& destination, ImageMode mode) {
  if (mode == ImageMode::kNone) return ok_status();
  if (record.path.empty()) return Error{ErrorCode::kNotFound, record.file + ": image file not found"};
  std::error_code ec;
  if (fs::exists(destination, ec) && fs::equivalent(record.path, destination, ec)) return ok_status();
  if (mode == ImageMode::kCopy) return copy_file_atomic(record.path, destination);
  fs::create_directories(fs::path(destination).parent_path(), ec);
  const std::string temp = destination + ".link.tmp";
  fs::remove(temp, ec);
  fs::create_symlink(fs::absolute(record.path, ec), temp, ec);
  if (!ec) fs::rename(temp, destination, ec);
  if (ec) {
    fs::remove(temp, ec);
    return Error{ErrorCode::kIo, destination + ": cannot create symbolic link: " + ec.message()};
  }
  return ok_status();
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) text.remove_suffix(1);
  return text;
}

bool parse_double(std::string_view text, double& out) {
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(out);
}

bool parse_int(std::string_view text, long long& out) {
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::string format_number(double value, int decimals) {
  if (value == 0.0) value = 0.0;  // no "-0"
  std::string out(64, '\0');
  const int n = std::snprintf(out.data(), out.size(), "%.*f", decimals, value);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (out.find('.') != std::string::npos) {
    while (!out.empty() && out.back() == '0') out.pop_back();
    if (!out.empty() && out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

}  // namespace visearch::dataset::detail
