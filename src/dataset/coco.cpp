#include "dataset/coco.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "dataset/atomic_file.h"
#include "dataset/fs_util.h"
#include "dataset/json_lines.h"

namespace visearch::dataset {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

bool get_int64(const json& obj, const char* key, std::int64_t& out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return false;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(v);
    return true;
  }
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
    return true;
  }
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > kMaxExactInteger) return false;
    out = static_cast<std::int64_t>(d);
    return true;
  }
  return false;
}

bool get_number(const json& value, double& out) {
  if (!value.is_number()) return false;
  out = value.get<double>();
  return std::isfinite(out);
}

std::optional<bool> get_flag(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number()) return it->get<double>() != 0.0;
  return std::nullopt;
}

std::string entry_name(const char* array, std::size_t index) {
  return std::string(array) + "[" + std::to_string(index) + "]";
}

int clamp_dimension(std::int64_t v) {
  return v > 0 && v < std::numeric_limits<int>::max() ? static_cast<int>(v) : 0;
}

// Splits "instances_val2017.json" -> "val2017", "instances_default.json" -> "".
std::string split_from_file_name(const fs::path& file) {
  std::string stem = file.stem().string();
  if (stem.rfind("instances_", 0) == 0) stem = stem.substr(10);
  if (stem == "default" || stem == "instances") return "";
  return file.stem().string().rfind("instances_", 0) == 0 ? stem : "";
}

double round_px(double v) {
  const double r = std::round(v * 1e4) / 1e4;
  return r == 0.0 ? 0.0 : r;
}

}  // namespace

Result<CocoDocument> parse_coco_json(std::string_view text, const std::string& origin,
                                     const CocoParseOptions& options) {
  auto parsed = parse_json_document(text, origin);
  if (!parsed) return parsed.error();
  const json& root = parsed->value;
  CocoDocument doc;
  const json* annotations = nullptr;
  std::string annotations_key = "annotations";
  if (root.is_array()) {
    doc.is_results_list = true;
    annotations = &root;
    annotations_key.clear();
  } else if (root.is_object()) {
    const auto ann = root.find("annotations");
    if (ann == root.end() || !ann->is_array()) {
      return Unexpected{
          ErrorCode::kInvalidArgument,
          origin + ": not a COCO file: expected an object with an 'annotations' array, or a results list"};
    }
    annotations = &*ann;
  } else {
    return Unexpected{ErrorCode::kInvalidArgument,
                      origin + ": not a COCO file: top level is neither object nor array"};
  }

  std::unordered_map<std::int64_t, std::size_t> image_index;
  std::unordered_set<std::int64_t> category_ids;
  if (root.is_object()) {
    if (const auto cats = root.find("categories"); cats != root.end()) {
      if (!cats->is_array())
        return Unexpected{ErrorCode::kInvalidArgument, origin + ": 'categories' must be an array"};
      std::set<std::string> names;
      for (std::size_t i = 0; i < cats->size(); ++i) {
        const json& c = (*cats)[i];
        const int line = parsed->line_of("categories", i);
        CocoCategory cat;
        cat.line = line;
        if (!c.is_object() || !get_int64(c, "id", cat.id)) {
          add_error(doc.diagnostics, origin, line,
                    entry_name("categories", i) + ": missing or non-integer 'id'");
          continue;
        }
        const auto name = c.find("name");
        if (name == c.end() || !name->is_string() || name->get<std::string>().empty()) {
          add_error(doc.diagnostics, origin, line,
                    entry_name("categories", i) + " (id " + std::to_string(cat.id) + "): missing 'name'");
          continue;
        }
        cat.name = name->get<std::string>();
        if (const auto super = c.find("supercategory"); super != c.end() && super->is_string()) {
          cat.supercategory = super->get<std::string>();
        }
        if (!category_ids.insert(cat.id).second) {
          add_error(doc.diagnostics, origin, line, "duplicate category id " + std::to_string(cat.id));
          continue;
        }
        if (!names.insert(cat.name).second) {
          add_warning(doc.diagnostics, origin, line, "category name '" + cat.name + "' used by two ids");
        }
        doc.categories.push_back(std::move(cat));
      }
    } else if (!doc.is_results_list) {
      add_warning(doc.diagnostics, origin, 0, "no 'categories' array");
    }
    if (const auto imgs = root.find("images"); imgs != root.end()) {
      if (!imgs->is_array())
        return Unexpected{ErrorCode::kInvalidArgument, origin + ": 'images' must be an array"};
      for (std::size_t i = 0; i < imgs->size(); ++i) {
        const json& im = (*imgs)[i];
        const int line = parsed->line_of("images", i);
        CocoImage image;
        image.line = line;
        if (!im.is_object() || !get_int64(im, "id", image.id)) {
          add_error(doc.diagnostics, origin, line, entry_name("images", i) + ": missing or non-integer 'id'");
          continue;
        }
        if (const auto fn = im.find("file_name"); fn != im.end() && fn->is_string()) {
          image.file_name = fn->get<std::string>();
        }
        std::int64_t w = 0;
        std::int64_t h = 0;
        const bool has_w = get_int64(im, "width", w);
        const bool has_h = get_int64(im, "height", h);
        if ((has_w && w <= 0) || (has_h && h <= 0) || (im.contains("width") && !has_w) ||
            (im.contains("height") && !has_h)) {
          add_error(doc.diagnostics, origin, line,
                    entry_name("images", i) + " (id " + std::to_string(image.id) +
                        "): width/height must be positive integers");
        } else {
          image.width = clamp_dimension(w);
          image.height = clamp_dimension(h);
        }
        if (!image_index.emplace(image.id, doc.images.size()).second) {
          add_error(doc.diagnostics, origin, line, "duplicate image id " + std::to_string(image.id));
          continue;
        }
        doc.images.push_back(std::move(image));
      }
    } else {
      add_warning(doc.diagnostics, origin, 0,
                  "no 'images' array: annotations are not checked against images");
    }
  }
  const bool check_images = root.is_object() && root.contains("images");
  const bool check_categories = root.is_object() && root.contains("categories");

  std::unordered_set<std::int64_t> annotation_ids;
  std::set<std::int64_t> bad_images;
  for (std::size_t i = 0; i < annotations->size(); ++i) {
    const json& a = (*annotations)[i];
    const int line = parsed->line_of(annotations_key, i);
    const std::string name = entry_name(doc.is_results_list ? "results" : "annotations", i);
    if (!a.is_object()) {
      add_error(doc.diagnostics, origin, line, name + ": not an object");
      continue;
    }
    CocoAnnotation ann;
    ann.line = line;
    std::int64_t id = 0;
    if (get_int64(a, "id", id)) {
      ann.id = id;
    } else if (a.contains("id")) {
      add_error(doc.diagnostics, origin, line, name + ": 'id' is not an integer");
      continue;
    }
    const std::string label = ann.id ? name + " (id " + std::to_string(*ann.id) + ")" : name;
    const bool has_image = get_int64(a, "image_id", ann.image_id);
    if (!has_image) {
      add_error(doc.diagnostics, origin, line, label + ": missing or non-integer 'image_id'");
      continue;
    }
    const auto fail = [&](const std::string& message) {
      std::string labelled = label;
      labelled.append(": ").append(message);
      add_error(doc.diagnostics, origin, line, std::move(labelled));
      bad_images.insert(ann.image_id);
    };
    if (!get_int64(a, "category_id", ann.category_id)) {
      fail("missing or non-integer 'category_id'");
      continue;
    }
    const auto bbox = a.find("bbox");
    if (bbox == a.end() || !bbox->is_array() || bbox->size() != 4 || !get_number((*bbox)[0], ann.x) ||
        !get_number((*bbox)[1], ann.y) || !get_number((*bbox)[2], ann.w) || !get_number((*bbox)[3], ann.h)) {
      fail("'bbox' must be [x, y, width, height] (4 finite numbers)");
      continue;
    }
    if (ann.w < 0 || ann.h < 0) {
      fail("negative width or height in bbox");
      continue;
    }
    if (const auto area = a.find("area"); area != a.end()) {
      double v = 0;
      if (!get_number(*area, v) || v < 0) {
        fail("'area' must be a non-negative number");
        continue;
      }
      ann.area = v;
    }
    if (const auto crowd = get_flag(a, "iscrowd")) ann.iscrowd = *crowd;
    if (const auto score = a.find("score"); score != a.end()) {
      double v = 0;
      if (!get_number(*score, v)) {
        fail("'score' must be a finite number");
        continue;
      }
      ann.score = v;
    } else if (doc.is_results_list) {
      fail("missing 'score'");
      continue;
    }
    if (const auto seg = a.find("segmentation"); seg != a.end() && !(seg->is_array() && seg->empty())) {
      ann.segmentation = *seg;
    }
    if (const auto attrs = a.find("attributes"); attrs != a.end() && attrs->is_object()) {
      ann.difficult = get_flag(*attrs, "difficult");
      ann.truncated = get_flag(*attrs, "truncated");
      ann.occluded = get_flag(*attrs, "occluded");
      if (const auto pose = attrs->find("pose"); pose != attrs->end() && pose->is_string()) {
        ann.pose = pose->get<std::string>();
      }
    }
    if (check_categories && category_ids.count(ann.category_id) == 0) {
      fail("unknown category_id " + std::to_string(ann.category_id));
      continue;
    }
    if (check_images) {
      const auto it = image_index.find(ann.image_id);
      if (it == image_index.end()) {
        add_error(doc.diagnostics, origin, line,
                  label + ": unknown image_id " + std::to_string(ann.image_id));
        continue;
      }
      const CocoImage& image = doc.images[it->second];
      if (options.check_bounds && image.width > 0 && image.height > 0) {
        const double tx = bounds_tolerance(image.width);
        const double ty = bounds_tolerance(image.height);
        if (ann.x < -tx || ann.y < -ty || ann.x + ann.w > image.width + tx ||
            ann.y + ann.h > image.height + ty) {
          const std::string message = "box [" + detail::format_number(ann.x, 2) + ", " +
                                      detail::format_number(ann.y, 2) + ", " +
                                      detail::format_number(ann.w, 2) + ", " +
                                      detail::format_number(ann.h, 2) + "] outside the image (" +
                                      std::to_string(image.width) + "x" + std::to_string(image.height) + ")";
          if (options.box_outside_is_error) {
            fail(message);
            continue;
          }
          std::string labelled = label;
          labelled.append(": ").append(message);
          add_warning(doc.diagnostics, origin, line, std::move(labelled));
        }
      }
    }
    if (ann.id && !annotation_ids.insert(*ann.id).second) {
      fail("duplicate annotation id " + std::to_string(*ann.id));
      continue;
    }
    doc.annotations.push_back(std::move(ann));
  }
  doc.images_with_errors.assign(bad_images.begin(), bad_images.end());
  return doc;
}

json coco_attributes(const Annotation& annotation) {
  json attributes = json::object();
  if (annotation.difficult) attributes["difficult"] = *annotation.difficult;
  if (annotation.truncated) attributes["truncated"] = *annotation.truncated;
  if (annotation.occluded) attributes["occluded"] = *annotation.occluded;
  if (!annotation.pose.empty()) attributes["pose"] = annotation.pose;
  return attributes;
}

std::string dump_coco_json(const json& document) {
  if (!document.is_object()) return dump_json(document, -1) + "\n";
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : document.items()) {
    out += first ? "\n" : ",\n";
    first = false;
    out += dump_json(json(key), -1) + ": ";
    if (value.is_array() && !value.empty()) {
      out += "[";
      for (std::size_t i = 0; i < value.size(); ++i) {
        out += i == 0 ? "\n  " : ",\n  ";
        out += value[i].dump(-1, ' ', false, json::error_handler_t::replace);
      }
      out += "\n]";
    } else {
      out += value.dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  out += "\n}\n";
  return out;
}

Result<Dataset> read_coco(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  const fs::path p(path);
  std::vector<fs::path> files;
  fs::path root;
  if (fs::is_regular_file(p, ec)) {
    files.push_back(p);
    root = p.parent_path().filename() == "annotations" ? p.parent_path().parent_path() : p.parent_path();
  } else if (fs::is_directory(p, ec)) {
    root = p;
    const auto is_json = [](const fs::path& f) { return detail::has_extension(f, ".json"); };
    files = detail::list_files(p / "annotations", false, is_json);
    if (files.empty()) files = detail::list_files(p, false, is_json);
    // Prefer instances_*.json when a folder also holds captions/keypoints files.
    std::vector<fs::path> instances;
    for (const fs::path& f : files) {
      if (f.filename().string().rfind("instances", 0) == 0) instances.push_back(f);
    }
    if (!instances.empty()) files = instances;
    if (files.empty())
      return Unexpected{ErrorCode::kInvalidArgument, path + ": no COCO .json annotation file found"};
  } else {
    return Unexpected{ErrorCode::kNotFound, path + ": no such file or folder"};
  }
  Dataset ds;
  ds.format = DatasetFormat::kCoco;
  ds.root = path;
  std::map<std::int64_t, std::string> category_names;  // id -> name, across files
  struct Loaded {
    fs::path file;
    CocoDocument doc;
  };
  std::vector<Loaded> loaded;
  for (const fs::path& file : files) {
    auto text = read_text_file(file.string());
    if (!text) return text.error();
    auto doc = parse_coco_json(*text, file.string());
    if (!doc) return doc.error();
    if (doc->is_results_list) {
      return Unexpected{ErrorCode::kInvalidArgument,
                        file.string() + ": a results list, not a ground-truth instances file"};
    }
    for (const CocoCategory& c : doc->categories) {
      auto [it, inserted] = category_names.emplace(c.id, c.name);
      if (!inserted && it->second != c.name) {
        add_error(ds.diagnostics, file.string(), c.line,
                  "category id " + std::to_string(c.id) + " is '" + c.name + "' here but '" + it->second +
                      "' in another file");
      }
    }
    loaded.push_back(Loaded{file, std::move(*doc)});
  }
  std::map<std::int64_t, int> class_of;
  for (const auto& [id, name] : category_names) {
    class_of[id] = static_cast<int>(ds.classes.size());
    ds.classes.push_back(name);
    ds.category_ids.push_back(id);
  }
  for (Loaded& l : loaded) {
    ds.diagnostics.insert(ds.diagnostics.end(), l.doc.diagnostics.begin(), l.doc.diagnostics.end());
    const std::string split = split_from_file_name(l.file);
    const fs::path json_dir = l.file.parent_path();
    const fs::path base = json_dir.filename() == "annotations" ? json_dir.parent_path() : json_dir;
    std::vector<fs::path> dirs;
    if (!options.images_dir.empty()) dirs.emplace_back(options.images_dir);
    const std::string split_dir = split.empty() ? "images" : split;
    dirs.push_back(base / split_dir);
    dirs.push_back(base / "images" / split_dir);
    dirs.push_back(base / "images");
    dirs.push_back(base);
    dirs.push_back(json_dir);
    const std::set<std::int64_t> bad(l.doc.images_with_errors.begin(), l.doc.images_with_errors.end());
    std::unordered_map<std::int64_t, std::size_t> index;
    for (const CocoImage& im : l.doc.images) {
      ImageRecord record;
      record.file = im.file_name;
      record.path = detail::find_in_dirs(dirs, im.file_name);
      record.annotation_file = l.file.string();
      record.split = split;
      record.width = im.width;
      record.height = im.height;
      record.coco_id = im.id;
      record.labelled = true;
      record.has_errors = bad.count(im.id) != 0;
      if (im.file_name.empty()) {
        add_error(ds.diagnostics, l.file.string(), im.line,
                  "image id " + std::to_string(im.id) + " has no file_name");
        record.has_errors = true;
      }
      index[im.id] = ds.images.size();
      ds.images.push_back(std::move(record));
    }
    for (CocoAnnotation& a : l.doc.annotations) {
      const auto it = index.find(a.image_id);
      if (it == index.end()) continue;  // reported by the parser
      Annotation out;
      out.class_id = class_of.at(a.category_id);
      out.box = PixelBox{a.x, a.y, a.x + a.w, a.y + a.h};
      out.iscrowd = a.iscrowd;
      out.difficult = a.difficult;
      out.truncated = a.truncated;
      out.occluded = a.occluded;
      out.pose = a.pose;
      out.area = a.area;
      out.coco_id = a.id;
      out.segmentation = std::move(a.segmentation);
      out.line = a.line;
      ds.images[it->second].annotations.push_back(std::move(out));
    }
  }
  return ds;
}

Result<WriteReport> write_coco(const Dataset& dataset, const std::string& out_dir,
                               const WriteOptions& options) {
  WriteReport report;
  const fs::path out(out_dir);
  std::vector<std::string> splits;
  for (const ImageRecord& image : dataset.images) {
    if (std::find(splits.begin(), splits.end(), image.split) == splits.end()) splits.push_back(image.split);
  }
  if (splits.empty()) splits.emplace_back();

  // Category ids: the source's when it had them, else 1..N.
  std::vector<std::int64_t> category_ids = dataset.category_ids;
  if (category_ids.size() != dataset.classes.size()) {
    category_ids.clear();
    for (std::size_t i = 0; i < dataset.classes.size(); ++i)
      category_ids.push_back(static_cast<std::int64_t>(i) + 1);
  }
  json categories = json::array();
  for (std::size_t i = 0; i < dataset.classes.size(); ++i) {
    categories.push_back({{"id", category_ids[i]}, {"name", dataset.classes[i]}, {"supercategory", ""}});
  }
  // Image and annotation ids: kept when every source id is present, positive and unique.
  std::set<std::int64_t> image_ids;
  bool keep_image_ids = true;
  std::set<std::int64_t> ann_ids;
  bool keep_ann_ids = true;
  for (const ImageRecord& image : dataset.images) {
    keep_image_ids =
        keep_image_ids && image.coco_id && *image.coco_id > 0 && image_ids.insert(*image.coco_id).second;
    for (const Annotation& a : image.annotations) {
      keep_ann_ids = keep_ann_ids && a.coco_id && *a.coco_id > 0 && ann_ids.insert(*a.coco_id).second;
    }
  }
  std::int64_t next_image_id = 1;
  std::int64_t next_ann_id = 1;
  for (const std::string& split : splits) {
    json images = json::array();
    json annotations = json::array();
    for (const ImageRecord& image : dataset.images) {
      if (image.split != split) continue;
      if (image.has_errors) {
        report.skipped_images.push_back(image.path.empty() ? image.file : image.path);
        continue;
      }
      const std::int64_t image_id = keep_image_ids ? *image.coco_id : next_image_id++;
      if (image.width <= 0 || image.height <= 0) {
        add_warning(report.diagnostics, image.path.empty() ? image.file : image.path, 0,
                    "image size unknown; written with width/height 0");
      }
      images.push_back(
          {{"id", image_id}, {"file_name", image.file}, {"width", image.width}, {"height", image.height}});
      if (!image.labelled)
        ++report.not_representable["'no annotation file' state (COCO lists the image with no annotations)"];
      for (const Annotation& a : image.annotations) {
        json ann{
            {"id", keep_ann_ids ? *a.coco_id : next_ann_id++},
            {"image_id", image_id},
            {"category_id", category_ids.at(static_cast<std::size_t>(a.class_id))},
            {"bbox",
             {round_px(a.box.x1), round_px(a.box.y1), round_px(a.box.width()), round_px(a.box.height())}},
            {"area",
             a.area ? *a.area : round_px(std::max(0.0, a.box.width()) * std::max(0.0, a.box.height()))},
            {"iscrowd", a.iscrowd ? 1 : 0},
            {"segmentation", a.segmentation.is_null() ? json::array() : a.segmentation}};
        if (json attributes = coco_attributes(a); !attributes.empty())
          ann["attributes"] = std::move(attributes);
        annotations.push_back(std::move(ann));
        ++report.annotations_written;
      }
      const std::string image_out = (out / (split.empty() ? "images" : split) / image.file).string();
      if (auto st = detail::place_image(image, image_out, options.images); !st) {
        add_error(report.diagnostics, image_out, 0, st.error().message);
      } else if (options.images != ImageMode::kNone) {
        ++report.files_written;
      }
      ++report.images_written;
    }
    json doc{{"info", {{"description", "Written by visearch dataset convert"}}},
             {"licenses", json::array()},
             {"categories", categories},
             {"images", std::move(images)},
             {"annotations", std::move(annotations)}};
    const std::string file =
        (out / "annotations" / ("instances_" + (split.empty() ? "default" : split) + ".json")).string();
    if (auto st = write_file_atomic(file, dump_coco_json(doc)); !st) {
      add_error(report.diagnostics, file, 0, st.error().message);
    } else {
      ++report.files_written;
    }
  }
  return report;
}

}  // namespace visearch::dataset
