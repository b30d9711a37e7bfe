#include "dataset/yolo.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "dataset/atomic_file.h"
#include "dataset/fs_util.h"

namespace visearch::dataset {
namespace {

namespace fs = std::filesystem;
using detail::parse_double;
using detail::parse_int;
using detail::trim;

// Normalised coordinates may stray this far outside [0, 1] (rounding in exporters).
constexpr double kNormalizedTolerance = 0.002;
constexpr std::uint64_t kMaxLabelFileBytes = std::uint64_t{64} << 20U;

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() &&
           (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\v' || line[i] == '\f')) {
      ++i;
    }
    const std::size_t start = i;
    while (i < line.size() &&
           !(line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\v' || line[i] == '\f')) {
      ++i;
    }
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool in_unit_range(double v) {
  return v >= -kNormalizedTolerance && v <= 1.0 + kNormalizedTolerance;
}

std::string quoted(std::string_view s) {
  std::string out = "'";
  out += s.substr(0, 40);
  if (s.size() > 40) out += "...";
  return out + "'";
}

// Ultralytics: the label of .../images/a/b.jpg is .../labels/a/b.txt (last "images" component).
fs::path label_path_for(const fs::path& image) {
  std::vector<fs::path> parts(image.begin(), image.end());
  for (std::size_t i = parts.size(); i-- > 1;) {
    if (parts[i - 1] == "images" && i - 1 < parts.size() - 1) {
      parts[i - 1] = "labels";
      fs::path out;
      for (const fs::path& p : parts) out /= p;
      return out.replace_extension(".txt");
    }
  }
  return fs::path(image).replace_extension(".txt");
}

fs::path labels_dir_for(const fs::path& images_dir) {
  std::vector<fs::path> parts(images_dir.begin(), images_dir.end());
  for (std::size_t i = parts.size(); i-- > 0;) {
    if (parts[i] == "images") {
      parts[i] = "labels";
      fs::path out;
      for (const fs::path& p : parts) out /= p;
      return out;
    }
  }
  return images_dir;
}

bool is_label_txt(const fs::path& p) {
  static const std::set<std::string> not_labels = {"classes.txt",  "obj.names",  "train.txt",
                                                   "val.txt",      "valid.txt",  "test.txt",
                                                   "trainval.txt", "labels.txt", "names.txt"};
  return detail::has_extension(p, ".txt") && not_labels.count(p.filename().string()) == 0;
}

// Reads the label file of `record` (if any), converting to pixels with the probed size.
void load_labels(ImageRecord& record, const std::string& label_file, int num_classes,
                 const LoadOptions& options, Diagnostics& diagnostics) {
  std::error_code ec;
  const bool has_labels = !label_file.empty() && fs::is_regular_file(label_file, ec);
  record.labelled = has_labels;
  if (has_labels) record.annotation_file = label_file;
  if (!record.path.empty()) {
    auto size = options.probe_size ? options.probe_size(record.path) : decode_image_size(record.path);
    if (size) {
      record.width = size->width;
      record.height = size->height;
    } else {
      add_error(diagnostics, record.path, 0, "cannot read image: " + size.error().message);
    }
  }
  if (!has_labels) return;
  auto text = read_text_file(label_file, kMaxLabelFileBytes);
  if (!text) {
    add_error(diagnostics, label_file, 0, text.error().message);
    record.has_errors = true;
    return;
  }
  YoloLabelFile parsed = parse_yolo_labels(*text, label_file, num_classes);
  if (!parsed.diagnostics.empty())
    record.has_errors = record.has_errors || count_errors(parsed.diagnostics) > 0;
  diagnostics.insert(diagnostics.end(), parsed.diagnostics.begin(), parsed.diagnostics.end());
  if (record.width <= 0 || record.height <= 0) {
    if (!parsed.labels.empty()) {
      add_error(diagnostics, label_file, 0,
                "image size unknown (image missing or unreadable), " + std::to_string(parsed.labels.size()) +
                    " box(es) cannot be converted to pixels");
      record.has_errors = true;
    }
    return;
  }
  const double w = record.width;
  const double h = record.height;
  for (const YoloLabel& label : parsed.labels) {
    Annotation a;
    a.class_id = label.class_id;
    a.box = PixelBox{(label.cx - label.w / 2) * w, (label.cy - label.h / 2) * h, (label.cx + label.w / 2) * w,
                     (label.cy + label.h / 2) * h};
    a.line = label.line;
    record.annotations.push_back(std::move(a));
  }
}

// The split a folder holds: its name (images/train2017 -> "train2017"); for a folder named "images", the
// parent's name (Roboflow train/images -> "train") or "" when it sits directly in the root.
std::string split_name_for_dir(const fs::path& dir, const fs::path& root) {
  const fs::path clean = dir.lexically_normal();
  std::string name = clean.filename().string();
  fs::path parent = clean.parent_path();
  if (name.empty()) {
    name = parent.filename().string();
    parent = parent.parent_path();
  }
  if (name == ".") return "";
  if (name != "images") return name;
  const auto strip = [](const fs::path& p) {
    const fs::path n = p.lexically_normal();
    return n.has_filename() ? n : n.parent_path();
  };
  if (parent.empty() || strip(parent) == strip(root)) return "";
  return parent.filename().string();
}

Result<Dataset> read_yaml_layout(const fs::path& yaml_path, const LoadOptions& options) {
  auto text = read_text_file(yaml_path.string(), kMaxLabelFileBytes);
  if (!text) return text.error();
  auto config = parse_data_yaml(*text, yaml_path.string(), yaml_path.parent_path().string());
  if (!config) return config.error();
  Dataset ds;
  ds.format = DatasetFormat::kYolo;
  ds.root = yaml_path.string();
  ds.classes = config->names;
  const int num_classes = static_cast<int>(ds.classes.size());
  const fs::path root(config->root);
  std::map<std::string, std::string> seen_sources;  // canonical source -> split name
  std::set<std::string> label_files_used;
  std::vector<fs::path> label_dirs;
  for (const YoloSplitSource& split : config->splits) {
    for (const std::string& source : split.sources) {
      fs::path src(source);
      if (src.is_relative()) src = root / src;
      src = src.lexically_normal();
      std::error_code ec;
      const std::string canonical = fs::weakly_canonical(src, ec).string();
      if (auto it = seen_sources.find(canonical); it != seen_sources.end()) {
        if (it->second != split.key) ds.split_aliases[split.key] = it->second;
        continue;
      }
      std::vector<fs::path> images;
      std::string split_name;
      fs::path base;
      if (fs::is_regular_file(src, ec) && detail::has_extension(src, ".txt")) {
        split_name = split.key;
        base = root;
        auto list = read_text_file(src.string(), kMaxLabelFileBytes);
        if (!list) {
          add_error(ds.diagnostics, src.string(), 0, list.error().message);
          continue;
        }
        std::size_t start = 0;
        int line_no = 0;
        while (start <= list->size()) {
          std::size_t end = list->find('\n', start);
          if (end == std::string::npos) end = list->size();
          ++line_no;
          const std::string_view entry = trim(std::string_view(*list).substr(start, end - start));
          start = end + 1;
          if (entry.empty()) continue;
          fs::path image(entry);
          if (image.is_relative()) image = (src.parent_path() / image).lexically_normal();
          if (!fs::is_regular_file(image, ec)) {
            add_error(ds.diagnostics, src.string(), line_no, "image not found: " + std::string(entry));
            continue;
          }
          images.push_back(image);
        }
      } else if (fs::is_directory(src, ec)) {
        split_name = split_name_for_dir(src, root);
        base = src;
        images = detail::list_files(src, true, detail::has_image_extension);
        label_dirs.push_back(labels_dir_for(src));
      } else {
        add_error(ds.diagnostics, yaml_path.string(), 0,
                  "'" + split.key + "' source not found: " + src.string());
        ds.diagnostics.back().split = split.key;
        continue;
      }
      seen_sources[canonical] = split_name;
      if (split_name != split.key) ds.split_aliases[split.key] = split_name;
      for (const fs::path& image : images) {
        ImageRecord record;
        record.file = detail::relative_to(image, base);
        if (record.file == image.generic_string()) record.file = image.filename().string();
        record.path = image.string();
        record.split = split_name;
        const fs::path label = label_path_for(image);
        label_files_used.insert(label.lexically_normal().string());
        load_labels(record, label.string(), num_classes, options, ds.diagnostics);
        ds.images.push_back(std::move(record));
      }
    }
  }
  for (const fs::path& dir : label_dirs) {
    for (const fs::path& label : detail::list_files(dir, true, is_label_txt)) {
      if (label_files_used.count(label.lexically_normal().string()) == 0) {
        ds.orphan_annotations.push_back(label.string());
        label_files_used.insert(label.lexically_normal().string());
      }
    }
  }
  for (auto it = ds.split_aliases.begin(); it != ds.split_aliases.end();) {
    it = it->first == it->second ? ds.split_aliases.erase(it) : std::next(it);
  }
  return ds;
}

Result<Dataset> read_flat_layout(const fs::path& root, const fs::path& names_file,
                                 const LoadOptions& options) {
  Dataset ds;
  ds.format = DatasetFormat::kYolo;
  ds.root = root.string();
  if (!names_file.empty()) {
    auto text = read_text_file(names_file.string(), kMaxLabelFileBytes);
    if (!text) return text.error();
    ds.classes = parse_class_names(*text);
  }
  const int num_classes = static_cast<int>(ds.classes.size());
  std::error_code ec;
  const fs::path images_dir = root / "images";
  const fs::path labels_dir = root / "labels";
  if (fs::is_directory(images_dir, ec) && fs::is_directory(labels_dir, ec)) {
    std::set<std::string> used;
    for (const fs::path& image : detail::list_files(images_dir, true, detail::has_image_extension)) {
      ImageRecord record;
      const fs::path rel = image.lexically_relative(images_dir);
      record.file = rel.generic_string();
      if (rel.has_parent_path()) {
        record.split = rel.begin()->string();
        record.file = rel.lexically_relative(*rel.begin()).generic_string();
      }
      record.path = image.string();
      const fs::path label = (labels_dir / rel).replace_extension(".txt");
      used.insert(label.lexically_normal().string());
      load_labels(record, label.string(), num_classes, options, ds.diagnostics);
      ds.images.push_back(std::move(record));
    }
    for (const fs::path& label : detail::list_files(labels_dir, true, is_label_txt)) {
      if (used.count(label.lexically_normal().string()) == 0) ds.orphan_annotations.push_back(label.string());
    }
    return ds;
  }
  // Labels beside images (or label-only folder with --images).
  std::set<std::string> images_used;
  for (const fs::path& label : detail::list_files(root, true, is_label_txt)) {
    const std::string stem = label.stem().string();
    std::string image = detail::find_image_by_stem(label.parent_path(), stem);
    if (image.empty() && !options.images_dir.empty())
      image = detail::find_image_by_stem(options.images_dir, stem);
    if (image.empty()) {
      ds.orphan_annotations.push_back(label.string());
      continue;
    }
    ImageRecord record;
    record.file = fs::path(image).filename().string();
    record.path = image;
    images_used.insert(fs::path(image).lexically_normal().string());
    load_labels(record, label.string(), num_classes, options, ds.diagnostics);
    ds.images.push_back(std::move(record));
  }
  std::vector<fs::path> image_dirs{root};
  if (!options.images_dir.empty()) image_dirs.emplace_back(options.images_dir);
  for (const fs::path& dir : image_dirs) {
    for (const fs::path& image : detail::list_files(dir, dir == root, detail::has_image_extension)) {
      if (images_used.count(image.lexically_normal().string()) != 0) continue;
      images_used.insert(image.lexically_normal().string());
      ImageRecord record;
      record.file = image.filename().string();
      record.path = image.string();
      load_labels(record, "", num_classes, options, ds.diagnostics);
      ds.images.push_back(std::move(record));
    }
  }
  std::sort(ds.images.begin(), ds.images.end(),
            [](const ImageRecord& a, const ImageRecord& b) { return a.path < b.path; });
  return ds;
}

std::string yaml_error(const std::string& origin, const YAML::Mark& mark, const std::string& message) {
  std::string where = origin;
  if (mark.line >= 0) where += ":" + std::to_string(mark.line + 1);
  return where + ": " + message;
}

std::string split_key_for(const std::string& split) {
  if (split.find("train") != std::string::npos) return "train";
  if (split.find("val") != std::string::npos) return "val";
  if (split.find("test") != std::string::npos) return "test";
  return "train";
}

}  // namespace

YoloLabelFile parse_yolo_labels(std::string_view text, const std::string& origin, int num_classes) {
  YoloLabelFile out;
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);
  }
  std::size_t start = 0;
  int line_no = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    const std::vector<std::string_view> cols = split_whitespace(line);
    if (cols.empty()) continue;
    const bool polygon = cols.size() >= 7 && cols.size() % 2 == 1;
    if (cols.size() != 5 && !polygon) {
      add_error(
          out.diagnostics, origin, line_no,
          "expected 5 columns (class x_center y_center width height), found " + std::to_string(cols.size()));
      continue;
    }
    long long class_id = 0;
    double class_value = 0;
    if (!parse_int(cols[0], class_id)) {
      if (parse_double(cols[0], class_value) && class_value == std::floor(class_value) &&
          std::fabs(class_value) < 1e9) {
        class_id = static_cast<long long>(class_value);
      } else {
        add_error(out.diagnostics, origin, line_no, "class id " + quoted(cols[0]) + " is not an integer");
        continue;
      }
    }
    if (class_id < 0 || (num_classes > 0 && class_id >= num_classes) || class_id > 1'000'000) {
      add_error(out.diagnostics, origin, line_no,
                "class id " + std::to_string(class_id) + " out of range" +
                    (num_classes > 0 ? " (0.." + std::to_string(num_classes - 1) + ")" : std::string()));
      continue;
    }
    std::vector<double> values(cols.size() - 1);
    bool numbers_ok = true;
    for (std::size_t i = 1; i < cols.size(); ++i) {
      if (!parse_double(cols[i], values[i - 1])) {
        add_error(out.diagnostics, origin, line_no,
                  "column " + std::to_string(i + 1) + ": " + quoted(cols[i]) + " is not a finite number");
        numbers_ok = false;
        break;
      }
    }
    if (!numbers_ok) continue;
    YoloLabel label;
    label.class_id = static_cast<int>(class_id);
    label.line = line_no;
    if (polygon) {
      double x1 = values[0];
      double x2 = values[0];
      double y1 = values[1];
      double y2 = values[1];
      bool inside = true;
      for (std::size_t i = 0; i + 1 < values.size(); i += 2) {
        inside = inside && in_unit_range(values[i]) && in_unit_range(values[i + 1]);
        x1 = std::min(x1, values[i]);
        x2 = std::max(x2, values[i]);
        y1 = std::min(y1, values[i + 1]);
        y2 = std::max(y2, values[i + 1]);
      }
      if (!inside) {
        add_error(out.diagnostics, origin, line_no,
                  "polygon point outside the image (coordinates must be in [0, 1])");
        continue;
      }
      label.cx = (x1 + x2) / 2;
      label.cy = (y1 + y2) / 2;
      label.w = x2 - x1;
      label.h = y2 - y1;
      label.from_polygon = true;
    } else {
      label.cx = values[0];
      label.cy = values[1];
      label.w = values[2];
      label.h = values[3];
      if (label.w < 0 || label.h < 0) {
        add_error(out.diagnostics, origin, line_no, "negative width or height");
        continue;
      }
      if (!in_unit_range(label.cx - label.w / 2) || !in_unit_range(label.cx + label.w / 2) ||
          !in_unit_range(label.cy - label.h / 2) || !in_unit_range(label.cy + label.h / 2)) {
        add_error(out.diagnostics, origin, line_no,
                  "box outside the image (normalised coordinates must lie in [0, 1])");
        continue;
      }
    }
    out.labels.push_back(label);
  }
  return out;
}

std::string format_yolo_labels(const std::vector<YoloLabel>& labels) {
  std::string out;
  char buffer[128];
  for (const YoloLabel& l : labels) {
    const int n =
        std::snprintf(buffer, sizeof buffer, "%d %.6f %.6f %.6f %.6f\n", l.class_id, l.cx, l.cy, l.w, l.h);
    if (n > 0) out.append(buffer, static_cast<std::size_t>(std::min<int>(n, sizeof buffer - 1)));
  }
  return out;
}

std::vector<std::string> parse_class_names(std::string_view text) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view name = trim(text.substr(start, end - start));
    start = end + 1;
    if (!name.empty()) names.emplace_back(name);
  }
  return names;
}

Result<YoloConfig> parse_data_yaml(std::string_view text, const std::string& origin,
                                   const std::string& yaml_dir) {
  YoloConfig config;
  try {
    const YAML::Node doc = YAML::Load(std::string(text));
    if (!doc.IsMap()) {
      return Unexpected{ErrorCode::kInvalidArgument,
                        yaml_error(origin, doc.Mark(), "data.yaml must be a mapping")};
    }
    const YAML::Node names = doc["names"];
    if (!names) return Unexpected{ErrorCode::kInvalidArgument, origin + ": no 'names' (class list)"};
    if (names.IsSequence()) {
      for (const YAML::Node& n : names) {
        if (!n.IsScalar()) {
          return Unexpected{ErrorCode::kInvalidArgument,
                            yaml_error(origin, n.Mark(), "class name must be a string")};
        }
        config.names.push_back(n.as<std::string>());
      }
    } else if (names.IsMap()) {
      std::map<long long, std::string> by_id;
      for (const auto& kv : names) {
        long long id = 0;
        if (!kv.first.IsScalar() || !parse_int(kv.first.Scalar(), id) || id < 0 || id > 1'000'000 ||
            !kv.second.IsScalar()) {
          return Unexpected{ErrorCode::kInvalidArgument,
                            yaml_error(origin, kv.first.Mark(),
                                       "'names' keys must be class ids 0..N-1 with string values")};
        }
        by_id[id] = kv.second.Scalar();
      }
      long long expected = 0;
      for (const auto& [id, name] : by_id) {
        if (id != expected++) {
          return Unexpected{ErrorCode::kInvalidArgument,
                            yaml_error(origin, names.Mark(),
                                       "'names' ids are not contiguous from 0 (missing " +
                                           std::to_string(expected - 1) + ")")};
        }
        config.names.push_back(name);
      }
    } else {
      return Unexpected{ErrorCode::kInvalidArgument,
                        yaml_error(origin, names.Mark(), "'names' must be a list or a mapping of id: name")};
    }
    if (const YAML::Node nc = doc["nc"]) {
      long long count = 0;
      if (!nc.IsScalar() || !parse_int(nc.Scalar(), count) ||
          count != static_cast<long long>(config.names.size())) {
        return Unexpected{
            ErrorCode::kInvalidArgument,
            yaml_error(origin, nc.Mark(),
                       "'nc' disagrees with 'names' (" + std::to_string(config.names.size()) + " names)")};
      }
    }
    fs::path root(yaml_dir.empty() ? "." : yaml_dir);
    if (const YAML::Node path = doc["path"]) {
      if (!path.IsScalar()) {
        return Unexpected{ErrorCode::kInvalidArgument,
                          yaml_error(origin, path.Mark(), "'path' must be a string")};
      }
      const fs::path p(path.Scalar());
      root = p.is_absolute() ? p : (root / p);
    }
    root = root.lexically_normal();
    if (!root.has_filename() && root.has_parent_path()) root = root.parent_path();  // "a/b/" -> "a/b"
    config.root = root.string();
    for (const char* key : {"train", "val", "valid", "test"}) {
      const YAML::Node node = doc[key];
      if (!node || node.IsNull()) continue;
      YoloSplitSource split;
      split.key = std::string(key) == "valid" ? "val" : key;
      if (node.IsScalar()) {
        split.sources.push_back(node.Scalar());
      } else if (node.IsSequence()) {
        for (const YAML::Node& n : node) {
          if (!n.IsScalar()) {
            return Unexpected{ErrorCode::kInvalidArgument,
                              yaml_error(origin, n.Mark(), "split entries must be paths")};
          }
          split.sources.push_back(n.Scalar());
        }
      } else {
        return Unexpected{
            ErrorCode::kInvalidArgument,
            yaml_error(origin, node.Mark(), std::string("'") + key + "' must be a path or a list of paths")};
      }
      config.splits.push_back(std::move(split));
    }
    if (config.splits.empty()) {
      return Unexpected{ErrorCode::kInvalidArgument, origin + ": no 'train', 'val' or 'test' entry"};
    }
  } catch (const YAML::Exception& e) {
    return Unexpected{ErrorCode::kInvalidArgument, yaml_error(origin, e.mark, "invalid YAML: " + e.msg)};
  } catch (const std::exception& e) {
    return Unexpected{ErrorCode::kInvalidArgument, origin + ": invalid YAML: " + e.what()};
  }
  return config;
}

Result<Dataset> read_yolo(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_regular_file(p, ec)) {
    if (detail::has_extension(p, ".yaml") || detail::has_extension(p, ".yml"))
      return read_yaml_layout(p, options);
    if (p.filename() == "classes.txt" || p.filename() == "obj.names") {
      return read_flat_layout(p.parent_path(), p, options);
    }
    return Unexpected{ErrorCode::kInvalidArgument,
                      path + ": expected a folder, a data.yaml or a classes.txt"};
  }
  if (!fs::is_directory(p, ec)) return Unexpected{ErrorCode::kNotFound, path + ": no such file or folder"};
  if (fs::is_regular_file(p / "data.yaml", ec)) return read_yaml_layout(p / "data.yaml", options);
  const auto yamls = detail::list_files(p, false, [](const fs::path& f) {
    return detail::has_extension(f, ".yaml") || detail::has_extension(f, ".yml");
  });
  if (yamls.size() == 1) return read_yaml_layout(yamls.front(), options);
  for (const char* names : {"classes.txt", "obj.names"}) {
    if (fs::is_regular_file(p / names, ec)) return read_flat_layout(p, p / names, options);
  }
  return Unexpected{ErrorCode::kInvalidArgument,
                    path + ": no data.yaml, classes.txt or obj.names: the YOLO class names are unknown"};
}

Result<WriteReport> write_yolo(const Dataset& dataset, const std::string& out_dir,
                               const WriteOptions& options) {
  WriteReport report;
  const fs::path out(out_dir);
  std::vector<std::string> splits;
  for (const ImageRecord& image : dataset.images) {
    if (std::find(splits.begin(), splits.end(), image.split) == splits.end()) splits.push_back(image.split);
  }
  if (splits.empty()) splits.emplace_back();
  std::set<std::string> written_labels;
  for (const ImageRecord& image : dataset.images) {
    if (image.has_errors) {
      report.skipped_images.push_back(image.path.empty() ? image.file : image.path);
      continue;
    }
    const fs::path split_dir = image.split.empty() ? fs::path() : fs::path(image.split);
    const fs::path image_out = out / "images" / split_dir / image.file;
    fs::path label_out = out / "labels" / split_dir / image.file;
    label_out.replace_extension(".txt");
    if (!written_labels.insert(label_out.string()).second) {
      add_error(report.diagnostics, label_out.string(), 0,
                "two images map to this label file (same name and folder, different extension); " +
                    image.file + " skipped");
      report.skipped_images.push_back(image.file);
      continue;
    }
    if (image.labelled && (image.width <= 0 || image.height <= 0)) {
      add_error(report.diagnostics, image.path.empty() ? image.file : image.path, 0,
                "image size unknown: YOLO coordinates cannot be normalised; skipped");
      report.skipped_images.push_back(image.file);
      continue;
    }
    std::vector<YoloLabel> labels;
    for (const Annotation& a : image.annotations) {
      if (a.iscrowd) {
        ++report.not_representable["crowd regions (iscrowd=1) not written: YOLO has no crowd flag"];
        continue;
      }
      if (a.difficult.value_or(false)) ++report.not_representable["difficult flag (YOLO has none)"];
      if (a.truncated.value_or(false)) ++report.not_representable["truncated flag (YOLO has none)"];
      if (a.occluded.value_or(false)) ++report.not_representable["occluded flag (YOLO has none)"];
      if (!a.pose.empty()) ++report.not_representable["pose (YOLO has none)"];
      if (!a.segmentation.is_null() && !a.segmentation.empty()) {
        ++report.not_representable["segmentation (YOLO detection labels hold boxes only)"];
      }
      YoloLabel l;
      l.class_id = a.class_id;
      l.cx = (a.box.x1 + a.box.x2) / 2 / image.width;
      l.cy = (a.box.y1 + a.box.y2) / 2 / image.height;
      l.w = a.box.width() / image.width;
      l.h = a.box.height() / image.height;
      labels.push_back(l);
    }
    if (image.labelled) {
      if (auto st = write_file_atomic(label_out.string(), format_yolo_labels(labels)); !st) {
        add_error(report.diagnostics, label_out.string(), 0, st.error().message);
        continue;
      }
      ++report.files_written;
    }
    if (auto st = detail::place_image(image, image_out.string(), options.images); !st) {
      add_error(report.diagnostics, image_out.string(), 0, st.error().message);
    } else if (options.images != ImageMode::kNone) {
      ++report.files_written;
    }
    ++report.images_written;
    report.annotations_written += labels.size();
  }
  if (!dataset.category_ids.empty()) {
    bool identity = true;
    for (std::size_t i = 0; i < dataset.category_ids.size(); ++i)
      identity = identity && dataset.category_ids[i] == static_cast<std::int64_t>(i);
    if (!identity) {
      report.not_representable["COCO category ids (YOLO ids are 0..N-1 in class order)"] =
          dataset.category_ids.size();
    }
  }
  // data.yaml (Ultralytics) and classes.txt (darknet tools).
  YAML::Emitter yaml;
  yaml << YAML::Comment("Written by visearch dataset convert (Ultralytics YOLO layout)");
  yaml << YAML::BeginMap;
  yaml << YAML::Key << "path" << YAML::Value << ".";
  std::map<std::string, std::vector<std::string>> by_key;
  for (const std::string& split : splits) {
    by_key[split.empty() ? "train" : split_key_for(split)].push_back(split.empty() ? "images"
                                                                                   : "images/" + split);
  }
  if (splits.size() == 1 && splits.front().empty()) by_key["val"] = by_key["train"];
  if (by_key.count("val") == 0 && by_key.count("train") != 0) by_key["val"] = by_key["train"];
  for (const char* key : {"train", "val", "test"}) {
    const auto it = by_key.find(key);
    if (it == by_key.end()) continue;
    yaml << YAML::Key << key << YAML::Value;
    if (it->second.size() == 1) {
      yaml << it->second.front();
    } else {
      yaml << YAML::BeginSeq;
      for (const std::string& s : it->second) yaml << s;
      yaml << YAML::EndSeq;
    }
  }
  yaml << YAML::Key << "nc" << YAML::Value << dataset.classes.size();
  yaml << YAML::Key << "names" << YAML::Value << YAML::BeginMap;
  for (std::size_t i = 0; i < dataset.classes.size(); ++i) {
    yaml << YAML::Key << i << YAML::Value << YAML::DoubleQuoted << dataset.classes[i];
  }
  yaml << YAML::EndMap << YAML::EndMap;
  std::string classes_txt;
  for (const std::string& name : dataset.classes) classes_txt += name + "\n";
  for (const auto& [name, contents] :
       {std::pair<std::string, std::string>{"data.yaml", std::string(yaml.c_str()) + "\n"},
        std::pair<std::string, std::string>{"classes.txt", classes_txt}}) {
    if (auto st = write_file_atomic((out / name).string(), contents); !st) {
      add_error(report.diagnostics, (out / name).string(), 0, st.error().message);
    } else {
      ++report.files_written;
    }
  }
  return report;
}

}  // namespace visearch::dataset
