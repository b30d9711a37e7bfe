#include "dataset/dataset.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "dataset/coco.h"
#include "dataset/fs_util.h"
#include "dataset/voc.h"
#include "dataset/yolo.h"
#include "io/image_decode.h"

namespace visearch::dataset {

namespace fs = std::filesystem;

std::string_view format_name(DatasetFormat format) {
  switch (format) {
    case DatasetFormat::kAuto:
      return "auto";
    case DatasetFormat::kYolo:
      return "yolo";
    case DatasetFormat::kCoco:
      return "coco";
    case DatasetFormat::kVoc:
      return "voc";
  }
  return "auto";
}

Result<DatasetFormat> parse_format(std::string_view name) {
  if (name == "auto") return DatasetFormat::kAuto;
  if (name == "yolo") return DatasetFormat::kYolo;
  if (name == "coco") return DatasetFormat::kCoco;
  if (name == "voc") return DatasetFormat::kVoc;
  return Unexpected{ErrorCode::kInvalidArgument,
                    "unknown data-set format '" + std::string(name) + "' (expected auto, yolo, coco or voc)"};
}

std::vector<std::string> Dataset::splits() const {
  std::vector<std::string> out;
  for (const ImageRecord& image : images) {
    if (std::find(out.begin(), out.end(), image.split) == out.end()) out.push_back(image.split);
  }
  return out;
}

bool Dataset::in_split(const ImageRecord& image, const std::string& split) const {
  if (image.split == split) return true;
  const auto it = split_aliases.find(split);
  return it != split_aliases.end() && it->second == image.split;
}

int Dataset::class_id_of(std::string_view name) const {
  const auto it = std::find(classes.begin(), classes.end(), name);
  return it == classes.end() ? -1 : static_cast<int>(it - classes.begin());
}

std::string normalize_class_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ' ' || c == '_' || c == '-') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

double bounds_tolerance(int side) {
  return std::max(1.0, 0.001 * side);
}

Result<Size> decode_image_size(const std::string& path) {
  auto bytes = read_file_bytes(path, std::uint64_t{512} << 20U, FileKind::kRegularOnly);
  if (!bytes) return bytes.error();
  auto decoded = decode_image(*bytes, DecodeLimits{});
  if (!decoded) return decoded.error();
  return Size{decoded->image.width, decoded->image.height};
}

Result<DatasetFormat> detect_format(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_regular_file(p, ec)) {
    if (detail::has_extension(p, ".json")) return DatasetFormat::kCoco;
    if (detail::has_extension(p, ".yaml") || detail::has_extension(p, ".yml")) return DatasetFormat::kYolo;
    if (p.filename() == "classes.txt" || p.filename() == "obj.names") return DatasetFormat::kYolo;
    return Unexpected{
        ErrorCode::kInvalidArgument,
        path + ": cannot tell the data-set format from this file (give a folder, data.yaml or .json)"};
  }
  if (!fs::is_directory(p, ec)) return Unexpected{ErrorCode::kNotFound, path + ": no such file or folder"};
  const auto is_yaml = [](const fs::path& f) {
    return detail::has_extension(f, ".yaml") || detail::has_extension(f, ".yml");
  };
  const auto is_json = [](const fs::path& f) { return detail::has_extension(f, ".json"); };
  const auto is_xml = [](const fs::path& f) { return detail::has_extension(f, ".xml"); };
  // Most specific layouts first: a VOC devkit may hold a classes.txt, a COCO folder an images/ folder.
  if (!detail::list_files(p, false, is_yaml).empty()) return DatasetFormat::kYolo;
  if (fs::is_directory(p / "Annotations", ec)) return DatasetFormat::kVoc;
  if (!detail::list_files(p / "annotations", false, is_json).empty()) return DatasetFormat::kCoco;
  if (fs::is_regular_file(p / "classes.txt", ec) || fs::is_regular_file(p / "obj.names", ec))
    return DatasetFormat::kYolo;
  if (!detail::list_files(p, false, is_json).empty()) return DatasetFormat::kCoco;
  if (!detail::list_files(p, false, is_xml).empty()) return DatasetFormat::kVoc;
  return Unexpected{
      ErrorCode::kInvalidArgument,
      path +
          ": no data.yaml/classes.txt (YOLO), annotations/*.json (COCO) or Annotations/*.xml (VOC) found; "
          "pass --format"};
}

Result<Dataset> load_dataset(const std::string& path, const LoadOptions& options) {
  DatasetFormat format = options.format;
  if (format == DatasetFormat::kAuto) {
    auto detected = detect_format(path);
    if (!detected) return detected.error();
    format = *detected;
  }
  switch (format) {
    case DatasetFormat::kYolo:
      return read_yolo(path, options);
    case DatasetFormat::kCoco:
      return read_coco(path, options);
    case DatasetFormat::kVoc:
      return read_voc(path, options);
    case DatasetFormat::kAuto:
      break;
  }
  return Unexpected{ErrorCode::kInternal, "unreachable data-set format"};
}

}  // namespace visearch::dataset
