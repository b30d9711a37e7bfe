#include "labeling/label_store.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "dataset/atomic_file.h"
#include "dataset/coco.h"
#include "dataset/voc.h"
#include "dataset/yolo.h"

namespace visearch::labeling {
namespace {

namespace fs = std::filesystem;
using dataset::Annotation;
using dataset::PixelBox;
using nlohmann::json;

constexpr std::uint64_t kMaxLabelBytes = std::uint64_t{1} << 30U;

double round2(double v) {
  return std::round(v * 100.0) / 100.0;
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

Status ensure_class_file(const StoreLayout& layout) {
  if (layout.class_file.empty() || file_exists(layout.class_file)) return ok_status();
  std::string text;
  for (const std::string& c : layout.classes) text += c + "\n";
  return dataset::write_file_atomic(layout.class_file, text);
}

Status require_size(const ImageEntry& image) {
  if (image.width > 0 && image.height > 0) return ok_status();
  return Error{ErrorCode::kInvalidArgument, image.key + ": the image size is unknown (unreadable image?)"};
}

// ---- YOLO

Result<std::vector<Annotation>> write_yolo(const StoreLayout& layout, ImageEntry& image,
                                           const std::vector<Annotation>& annotations) {
  VISEARCH_TRY(require_size(image));
  const double w = image.width;
  const double h = image.height;
  std::vector<dataset::YoloLabel> labels;
  for (const Annotation& a : annotations) {
    dataset::YoloLabel l;
    l.class_id = a.class_id;
    l.cx = (a.box.x1 + a.box.x2) / 2.0 / w;
    l.cy = (a.box.y1 + a.box.y2) / 2.0 / h;
    l.w = a.box.width() / w;
    l.h = a.box.height() / h;
    labels.push_back(l);
  }
  const std::string text = dataset::format_yolo_labels(labels);
  VISEARCH_TRY(ensure_class_file(layout));
  VISEARCH_TRY(dataset::write_file_atomic(image.label_file, text));
  const dataset::YoloLabelFile parsed =
      dataset::parse_yolo_labels(text, image.label_file, static_cast<int>(layout.classes.size()));
  std::vector<Annotation> stored;
  for (const dataset::YoloLabel& l : parsed.labels) {
    Annotation a;
    a.class_id = l.class_id;
    a.box = PixelBox{(l.cx - l.w / 2) * w, (l.cy - l.h / 2) * h, (l.cx + l.w / 2) * w, (l.cy + l.h / 2) * h};
    a.line = l.line;
    stored.push_back(std::move(a));
  }
  return stored;
}

// ---- Pascal VOC

Result<std::vector<Annotation>> write_voc(const StoreLayout& layout, ImageEntry& image,
                                          const std::vector<Annotation>& annotations) {
  VISEARCH_TRY(require_size(image));
  dataset::VocDocument doc;
  const fs::path image_path(image.path);
  doc.folder = layout.voc_devkit ? "JPEGImages" : image_path.parent_path().filename().string();
  doc.filename = image_path.filename().string();
  doc.depth = 3;
  if (file_exists(image.label_file)) {
    auto text = dataset::read_text_file(image.label_file, kMaxLabelBytes);
    if (text) {
      if (auto old = dataset::parse_voc_xml(*text, image.label_file); old) {
        if (!old->folder.empty()) doc.folder = old->folder;
        if (!old->filename.empty()) doc.filename = old->filename;
        if (old->depth > 0) doc.depth = old->depth;
      }
    }
  }
  doc.width = image.width;
  doc.height = image.height;
  for (const Annotation& a : annotations) {
    dataset::VocObject o;
    o.name = layout.classes.at(static_cast<std::size_t>(a.class_id));
    o.pose = a.pose;
    o.truncated = a.truncated;
    o.difficult = a.difficult;
    o.occluded = a.occluded;
    o.box = a.box;
    doc.objects.push_back(std::move(o));
  }
  const std::string text = dataset::format_voc_xml(doc);
  VISEARCH_TRY(ensure_class_file(layout));
  VISEARCH_TRY(dataset::write_file_atomic(image.label_file, text));
  auto parsed = dataset::parse_voc_xml(text, image.label_file);
  if (!parsed) return parsed.error();
  std::vector<Annotation> stored;
  for (const dataset::VocObject& o : parsed->objects) {
    Annotation a;
    const auto it = std::find(layout.classes.begin(), layout.classes.end(), o.name);
    a.class_id = static_cast<int>(it - layout.classes.begin());
    a.box = o.box;
    a.pose = o.pose;
    a.truncated = o.truncated;
    a.difficult = o.difficult;
    a.occluded = o.occluded;
    a.line = o.line;
    stored.push_back(std::move(a));
  }
  return stored;
}

// ---- COCO

std::int64_t int_of(const json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) return static_cast<std::int64_t>(value.get<double>());
  return 0;
}

Result<json> read_coco_document(const StoreLayout& layout, const std::string& file) {
  if (!file_exists(file)) {
    json categories = json::array();
    for (std::size_t i = 0; i < layout.classes.size(); ++i) {
      categories.push_back(
          {{"id", static_cast<std::int64_t>(i) + 1}, {"name", layout.classes[i]}, {"supercategory", ""}});
    }
    return json{{"info", {{"description", "Written by visearch label"}}},
                {"licenses", json::array()},
                {"categories", std::move(categories)},
                {"images", json::array()},
                {"annotations", json::array()}};
  }
  auto text = dataset::read_text_file(file, kMaxLabelBytes);
  if (!text) return text.error();
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Error{ErrorCode::kInvalidArgument, file + ": not a valid COCO JSON object; not overwritten"};
  }
  for (const char* key : {"images", "annotations", "categories"}) {
    if (!doc.contains(key)) doc[key] = json::array();
    if (!doc[key].is_array()) {
      return Error{ErrorCode::kInvalidArgument, file + ": \"" + key + "\" is not an array; not overwritten"};
    }
  }
  return doc;
}

// Category id per class (by name); adds categories the file lacks.
std::vector<std::int64_t> coco_categories(const StoreLayout& layout, json& doc) {
  std::map<std::string, std::int64_t> by_name;
  std::int64_t max_id = 0;
  for (const json& c : doc["categories"]) {
    if (!c.is_object()) continue;
    const std::int64_t id = c.contains("id") ? int_of(c["id"]) : 0;
    max_id = std::max(max_id, id);
    if (c.contains("name") && c["name"].is_string()) by_name.emplace(c["name"].get<std::string>(), id);
  }
  std::vector<std::int64_t> ids;
  for (const std::string& name : layout.classes) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      it = by_name.emplace(name, ++max_id).first;
      doc["categories"].push_back({{"id", it->second}, {"name", name}, {"supercategory", ""}});
    }
    ids.push_back(it->second);
  }
  return ids;
}

// Index of the image's entry in doc["images"], or -1.
long find_coco_image(const json& doc, const ImageEntry& image) {
  const json& images = doc["images"];
  for (std::size_t i = 0; i < images.size(); ++i) {
    const json& im = images[i];
    if (!im.is_object()) continue;
    if (image.coco_id && im.contains("id") && int_of(im["id"]) == *image.coco_id) return static_cast<long>(i);
  }
  if (image.coco_id) return -1;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const json& im = images[i];
    if (im.is_object() && im.contains("file_name") && im["file_name"] == image.coco_file_name) {
      return static_cast<long>(i);
    }
  }
  return -1;
}

Result<std::vector<Annotation>> write_coco(const StoreLayout& layout, ImageEntry& image,
                                           const std::vector<Annotation>& annotations) {
  VISEARCH_TRY(require_size(image));
  auto loaded = read_coco_document(layout, image.label_file);
  if (!loaded) return loaded.error();
  json doc = std::move(*loaded);
  const std::vector<std::int64_t> category_ids = coco_categories(layout, doc);
  json& images = doc["images"];
  long index = find_coco_image(doc, image);
  std::int64_t image_id = 0;
  if (index < 0) {
    std::int64_t max_id = 0;
    for (const json& im : images) {
      if (im.is_object() && im.contains("id")) max_id = std::max(max_id, int_of(im["id"]));
    }
    image_id = max_id + 1;
    images.push_back({{"id", image_id},
                      {"file_name", image.coco_file_name},
                      {"width", image.width},
                      {"height", image.height}});
    index = static_cast<long>(images.size()) - 1;
  } else {
    json& entry = images[static_cast<std::size_t>(index)];
    image_id = int_of(entry["id"]);
    entry["width"] = image.width;
    entry["height"] = image.height;
  }
  // Drop the image's old annotations, keep everything else in file order.
  json kept = json::array();
  std::set<std::int64_t> used_ids;
  std::int64_t max_ann_id = 0;
  for (json& a : doc["annotations"]) {
    const std::int64_t id = a.is_object() && a.contains("id") ? int_of(a["id"]) : 0;
    max_ann_id = std::max(max_ann_id, id);
    if (a.is_object() && a.contains("image_id") && int_of(a["image_id"]) == image_id) continue;
    used_ids.insert(id);
    kept.push_back(std::move(a));
  }
  for (const Annotation& a : annotations) {
    std::int64_t id = 0;
    if (a.coco_id && *a.coco_id > 0 && used_ids.count(*a.coco_id) == 0) {
      id = *a.coco_id;
    } else {
      id = ++max_ann_id;
    }
    used_ids.insert(id);
    const double x = round2(a.box.x1);
    const double y = round2(a.box.y1);
    const double w = round2(a.box.x2) - x;
    const double h = round2(a.box.y2) - y;
    const bool keep_segmentation = !a.segmentation.is_null() && !a.segmentation.empty();
    json ann{{"id", id},
             {"image_id", image_id},
             {"category_id", category_ids.at(static_cast<std::size_t>(a.class_id))},
             {"bbox", {x, round2(y), round2(w), round2(h)}},
             {"area", keep_segmentation && a.area ? *a.area : round2(w * h)},
             {"iscrowd", a.iscrowd ? 1 : 0},
             {"segmentation", keep_segmentation ? a.segmentation : json::array()}};
    if (json attributes = dataset::coco_attributes(a); !attributes.empty())
      ann["attributes"] = std::move(attributes);
    kept.push_back(std::move(ann));
  }
  doc["annotations"] = std::move(kept);
  const std::string text = dataset::dump_coco_json(doc);
  VISEARCH_TRY(dataset::write_file_atomic(image.label_file, text));
  image.coco_id = image_id;
  // Read back what the file now says about this image.
  auto parsed = dataset::parse_coco_json(text, image.label_file);
  if (!parsed) return parsed.error();
  std::map<std::int64_t, int> class_of;
  for (std::size_t i = 0; i < category_ids.size(); ++i)
    class_of.emplace(category_ids[i], static_cast<int>(i));
  std::vector<Annotation> stored;
  for (const dataset::CocoAnnotation& c : parsed->annotations) {
    if (c.image_id != image_id) continue;
    const auto cls = class_of.find(c.category_id);
    if (cls == class_of.end()) continue;
    Annotation a;
    a.class_id = cls->second;
    a.box = PixelBox{c.x, c.y, c.x + c.w, c.y + c.h};
    a.iscrowd = c.iscrowd;
    a.difficult = c.difficult;
    a.truncated = c.truncated;
    a.occluded = c.occluded;
    a.pose = c.pose;
    a.area = c.area;
    a.coco_id = c.id;
    a.segmentation = c.segmentation;
    a.line = c.line;
    stored.push_back(std::move(a));
  }
  return stored;
}

}  // namespace

std::string default_label_file(const StoreLayout& layout, const std::string& image_path,
                               const std::string& coco_file) {
  const fs::path image(image_path);
  const fs::path root(layout.root);
  switch (layout.format) {
    case dataset::DatasetFormat::kCoco:
      return coco_file;
    case dataset::DatasetFormat::kVoc:
      if (layout.voc_devkit) return (root / "Annotations" / (image.stem().string() + ".xml")).string();
      return (image.parent_path() / (image.stem().string() + ".xml")).string();
    case dataset::DatasetFormat::kYolo:
    case dataset::DatasetFormat::kAuto:
      break;
  }
  const fs::path rel = image.lexically_normal().lexically_relative(root.lexically_normal());
  if (!rel.empty() && *rel.begin() != "..") {
    std::vector<fs::path> parts(rel.begin(), rel.end());
    for (std::size_t i = parts.size() - 1; i-- > 0;) {
      if (parts[i] == "images") {
        parts[i] = "labels";
        fs::path out = root;
        for (const fs::path& p : parts) out /= p;
        return out.replace_extension(".txt").string();
      }
    }
  }
  return fs::path(image).replace_extension(".txt").string();
}

Result<std::optional<std::string>> current_labels_text(const StoreLayout& layout, const ImageEntry& image) {
  if (image.label_file.empty() || !file_exists(image.label_file)) return std::optional<std::string>{};
  if (layout.format != dataset::DatasetFormat::kCoco) {
    auto text = dataset::read_text_file(image.label_file, kMaxLabelBytes);
    if (!text) return text.error();
    return std::optional<std::string>{std::move(*text)};
  }
  if (!image.coco_id) return std::optional<std::string>{};
  auto text = dataset::read_text_file(image.label_file, kMaxLabelBytes);
  if (!text) return text.error();
  const json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("annotations") ||
      !doc["annotations"].is_array()) {
    return Error{ErrorCode::kInvalidArgument, image.label_file + ": not a valid COCO JSON object"};
  }
  json mine = json::array();
  for (const json& a : doc["annotations"]) {
    if (a.is_object() && a.contains("image_id") && int_of(a["image_id"]) == *image.coco_id) mine.push_back(a);
  }
  return std::optional<std::string>{
      dataset::dump_coco_json(json{{"image_id", *image.coco_id}, {"annotations", mine}})};
}

Result<std::vector<Annotation>> write_labels(const StoreLayout& layout, ImageEntry& image,
                                             const std::vector<Annotation>& annotations) {
  for (const Annotation& a : annotations) {
    if (a.class_id < 0 || static_cast<std::size_t>(a.class_id) >= layout.classes.size()) {
      return Error{ErrorCode::kInvalidArgument,
                   "class id " + std::to_string(a.class_id) + " is out of range"};
    }
  }
  switch (layout.format) {
    case dataset::DatasetFormat::kCoco:
      return write_coco(layout, image, annotations);
    case dataset::DatasetFormat::kVoc:
      return write_voc(layout, image, annotations);
    case dataset::DatasetFormat::kYolo:
    case dataset::DatasetFormat::kAuto:
      break;
  }
  return write_yolo(layout, image, annotations);
}

}  // namespace visearch::labeling
