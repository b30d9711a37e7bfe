#include "dataset/voc.h"

#include <tinyxml2.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "dataset/atomic_file.h"
#include "dataset/fs_util.h"

namespace visearch::dataset {
namespace {

namespace fs = std::filesystem;
using tinyxml2::XMLElement;

constexpr std::uint64_t kMaxXmlBytes = std::uint64_t{16} << 20U;

std::string child_text(const XMLElement* parent, const char* name) {
  const XMLElement* e = parent->FirstChildElement(name);
  if (e == nullptr || e->GetText() == nullptr) return {};
  return std::string(detail::trim(e->GetText()));
}

std::optional<bool> child_flag(const XMLElement* parent, const char* name) {
  const std::string text = child_text(parent, name);
  if (text.empty()) return std::nullopt;
  double v = 0;
  if (detail::parse_double(text, v)) return v != 0.0;
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  return std::nullopt;
}

bool is_xml(const fs::path& p) {
  return detail::has_extension(p, ".xml");
}

}  // namespace

Result<VocDocument> parse_voc_xml(std::string_view text, const std::string& origin) {
  tinyxml2::XMLDocument xml;
  xml.Parse(text.data(), text.size());
  if (xml.Error()) {
    const int line = xml.ErrorLineNum();
    std::string message = xml.ErrorStr() != nullptr ? xml.ErrorStr() : "parse error";
    // tinyxml2 prefixes its message with "Error=XML_ERROR_... ErrorID=N (0xN) Line number=L: ".
    if (const auto colon = message.find(": ");
        message.rfind("Error=", 0) == 0 && colon != std::string::npos) {
      message = message.substr(colon + 2);
    }
    return Unexpected{
        ErrorCode::kInvalidArgument,
        origin + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": invalid XML: " + message};
  }
  const XMLElement* root = xml.RootElement();
  if (root == nullptr || std::string_view(root->Name()) != "annotation") {
    return Unexpected{ErrorCode::kInvalidArgument,
                      origin + ":" + std::to_string(root != nullptr ? root->GetLineNum() : 1) +
                          ": not a Pascal VOC file: the root element must be <annotation>"};
  }
  VocDocument doc;
  doc.folder = child_text(root, "folder");
  doc.filename = child_text(root, "filename");
  if (const XMLElement* size = root->FirstChildElement("size")) {
    long long w = 0;
    long long h = 0;
    long long d = 0;
    const std::string ws = child_text(size, "width");
    const std::string hs = child_text(size, "height");
    const std::string ds = child_text(size, "depth");
    double wf = 0;
    double hf = 0;
    const bool w_ok =
        detail::parse_int(ws, w) || (detail::parse_double(ws, wf) && wf == std::floor(wf) &&
                                     (w = static_cast<long long>(std::clamp(wf, -1.0, 1e9)), true));
    const bool h_ok =
        detail::parse_int(hs, h) || (detail::parse_double(hs, hf) && hf == std::floor(hf) &&
                                     (h = static_cast<long long>(std::clamp(hf, -1.0, 1e9)), true));
    if (!w_ok || !h_ok || w < 0 || h < 0 || w > 1'000'000 || h > 1'000'000) {
      add_error(doc.diagnostics, origin, size->GetLineNum(),
                "<size> width/height must be non-negative integers");
    } else {
      doc.width = static_cast<int>(w);
      doc.height = static_cast<int>(h);
    }
    if (detail::parse_int(ds, d) && d > 0 && d < 1000) doc.depth = static_cast<int>(d);
  }
  for (const XMLElement* obj = root->FirstChildElement("object"); obj != nullptr;
       obj = obj->NextSiblingElement("object")) {
    VocObject o;
    o.line = obj->GetLineNum();
    o.name = child_text(obj, "name");
    if (o.name.empty()) {
      add_error(doc.diagnostics, origin, o.line, "<object> without <name>");
      continue;
    }
    o.pose = child_text(obj, "pose");
    if (o.pose == "Unspecified") o.pose.clear();
    o.truncated = child_flag(obj, "truncated");
    o.difficult = child_flag(obj, "difficult");
    o.occluded = child_flag(obj, "occluded");
    const XMLElement* box = obj->FirstChildElement("bndbox");
    if (box == nullptr) {
      add_error(doc.diagnostics, origin, o.line, "<object> '" + o.name + "' without <bndbox>");
      continue;
    }
    double v[4] = {0, 0, 0, 0};
    bool ok = true;
    const char* keys[4] = {"xmin", "ymin", "xmax", "ymax"};
    for (int i = 0; i < 4 && ok; ++i) {
      const XMLElement* e = box->FirstChildElement(keys[i]);
      const std::string t =
          e != nullptr && e->GetText() != nullptr ? std::string(detail::trim(e->GetText())) : "";
      if (!detail::parse_double(t, v[i])) {
        add_error(doc.diagnostics, origin, e != nullptr ? e->GetLineNum() : box->GetLineNum(),
                  std::string("<") + keys[i] + "> of '" + o.name + "' is " +
                      (e == nullptr ? "missing" : "not a number"));
        ok = false;
      }
    }
    if (!ok) continue;
    o.box = PixelBox{v[0], v[1], v[2], v[3]};
    if (o.box.x2 < o.box.x1 || o.box.y2 < o.box.y1) {
      add_error(doc.diagnostics, origin, box->GetLineNum(),
                "negative width or height for '" + o.name + "' (xmax < xmin or ymax < ymin)");
      continue;
    }
    if (doc.width > 0 && doc.height > 0) {
      const double tx = bounds_tolerance(doc.width);
      const double ty = bounds_tolerance(doc.height);
      if (o.box.x1 < -tx || o.box.y1 < -ty || o.box.x2 > doc.width + tx || o.box.y2 > doc.height + ty) {
        add_error(doc.diagnostics, origin, box->GetLineNum(),
                  "box of '" + o.name + "' outside the image (" + std::to_string(doc.width) + "x" +
                      std::to_string(doc.height) + ")");
        continue;
      }
    }
    doc.objects.push_back(std::move(o));
  }
  return doc;
}

std::string format_voc_xml(const VocDocument& document) {
  tinyxml2::XMLPrinter printer;
  printer.PushHeader(false, true);
  printer.OpenElement("annotation");
  const auto leaf = [&printer](const char* name, const std::string& text) {
    printer.OpenElement(name);
    printer.PushText(text.c_str());
    printer.CloseElement();
  };
  const auto round_text = [](double v) { return detail::format_number(std::round(v), 0); };
  leaf("folder", document.folder);
  leaf("filename", document.filename);
  printer.OpenElement("size");
  leaf("width", std::to_string(document.width));
  leaf("height", std::to_string(document.height));
  leaf("depth", std::to_string(document.depth > 0 ? document.depth : 3));
  printer.CloseElement();
  leaf("segmented", "0");
  for (const VocObject& o : document.objects) {
    printer.OpenElement("object");
    leaf("name", o.name);
    leaf("pose", o.pose.empty() ? "Unspecified" : o.pose);
    leaf("truncated", o.truncated.value_or(false) ? "1" : "0");
    leaf("difficult", o.difficult.value_or(false) ? "1" : "0");
    if (o.occluded) leaf("occluded", *o.occluded ? "1" : "0");
    printer.OpenElement("bndbox");
    leaf("xmin", round_text(o.box.x1));
    leaf("ymin", round_text(o.box.y1));
    leaf("xmax", round_text(o.box.x2));
    leaf("ymax", round_text(o.box.y2));
    printer.CloseElement();
    printer.CloseElement();
  }
  printer.CloseElement();
  return {printer.CStr()};
}

Result<Dataset> read_voc(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  const fs::path p(path);
  if (!fs::is_directory(p, ec)) {
    return Unexpected{ErrorCode::kNotFound,
                      path + ": not a folder (expected VOC Annotations/ or a folder of .xml)"};
  }
  const bool devkit = fs::is_directory(p / "Annotations", ec);
  const fs::path ann_dir = devkit ? p / "Annotations" : p;
  std::vector<fs::path> xml_files = detail::list_files(ann_dir, false, is_xml);
  if (xml_files.empty()) xml_files = detail::list_files(ann_dir, true, is_xml);
  if (xml_files.empty())
    return Unexpected{ErrorCode::kInvalidArgument, path + ": no Pascal VOC .xml files found"};

  Dataset ds;
  ds.format = DatasetFormat::kVoc;
  ds.root = path;
  std::vector<fs::path> dirs;
  if (!options.images_dir.empty()) dirs.emplace_back(options.images_dir);
  for (const fs::path& d : {p / "JPEGImages", p / "images", ann_dir, ann_dir.parent_path() / "JPEGImages",
                            ann_dir.parent_path() / "images", ann_dir.parent_path().parent_path() / "images",
                            ann_dir.parent_path().parent_path() / "JPEGImages"}) {
    dirs.push_back(d);
  }
  // Splits from ImageSets/Main/<split>.txt (class-specific lists like aeroplane_train.txt are skipped).
  std::map<std::string, std::string> split_of;
  const fs::path sets = p / "ImageSets" / "Main";
  std::vector<fs::path> set_files = detail::list_files(sets, false, [](const fs::path& f) {
    return detail::has_extension(f, ".txt") && f.stem().string().find('_') == std::string::npos;
  });
  const auto has_set = [&](const char* name) {
    return std::any_of(set_files.begin(), set_files.end(),
                       [&](const fs::path& f) { return f.stem() == name; });
  };
  if (has_set("train") && has_set("val")) {
    set_files.erase(std::remove_if(set_files.begin(), set_files.end(),
                                   [](const fs::path& f) { return f.stem() == "trainval"; }),
                    set_files.end());
  }
  for (const fs::path& f : set_files) {
    auto text = read_text_file(f.string(), kMaxXmlBytes * 4);
    if (!text) {
      add_error(ds.diagnostics, f.string(), 0, text.error().message);
      continue;
    }
    std::size_t start = 0;
    while (start < text->size()) {
      std::size_t end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      const std::string_view id = detail::trim(std::string_view(*text).substr(start, end - start));
      start = end + 1;
      if (!id.empty())
        split_of.emplace(std::string(id.substr(0, id.find_first_of(" \t"))), f.stem().string());
    }
  }
  // Class order: classes.txt / labels.txt when present, else sorted names.
  std::vector<std::string> listed;
  for (const char* names : {"classes.txt", "labels.txt"}) {
    if (fs::is_regular_file(p / names, ec)) {
      auto text = read_text_file((p / names).string(), kMaxXmlBytes);
      if (text) {
        std::size_t start = 0;
        while (start < text->size()) {
          std::size_t end = text->find('\n', start);
          if (end == std::string::npos) end = text->size();
          const std::string_view n = detail::trim(std::string_view(*text).substr(start, end - start));
          start = end + 1;
          if (!n.empty()) listed.emplace_back(n);
        }
      }
      break;
    }
  }
  struct Parsed {
    fs::path file;
    VocDocument doc;
    bool ok = false;
  };
  std::vector<Parsed> parsed;
  std::set<std::string> names;
  for (const fs::path& f : xml_files) {
    Parsed item;
    item.file = f;
    auto text = read_text_file(f.string(), kMaxXmlBytes);
    if (!text) {
      add_error(ds.diagnostics, f.string(), 0, text.error().message);
    } else if (auto doc = parse_voc_xml(*text, f.string()); !doc) {
      ds.diagnostics.push_back(diagnostic_from_error(f.string(), doc.error()));
    } else {
      item.doc = std::move(*doc);
      item.ok = true;
      for (const VocObject& o : item.doc.objects) names.insert(o.name);
    }
    parsed.push_back(std::move(item));
  }
  ds.classes = listed;
  for (const std::string& n : names) {
    if (std::find(ds.classes.begin(), ds.classes.end(), n) == ds.classes.end()) {
      if (!listed.empty())
        add_warning(ds.diagnostics, (p / "classes.txt").string(), 0, "class '" + n + "' is not listed");
      ds.classes.push_back(n);
    }
  }
  std::set<std::string> used_images;
  for (Parsed& item : parsed) {
    ImageRecord record;
    record.annotation_file = item.file.string();
    const std::string stem = item.file.stem().string();
    record.split = split_of.count(stem) != 0 ? split_of[stem] : "";
    record.file = item.doc.filename;
    if (!record.file.empty()) record.path = detail::find_in_dirs(dirs, record.file);
    for (std::size_t i = 0; record.path.empty() && i < dirs.size(); ++i) {
      record.path = detail::find_image_by_stem(dirs[i], stem);
    }
    if (record.file.empty())
      record.file = record.path.empty() ? stem + ".jpg" : fs::path(record.path).filename().string();
    if (!record.path.empty()) used_images.insert(fs::path(record.path).lexically_normal().string());
    if (!item.ok) {
      record.has_errors = true;
      ds.images.push_back(std::move(record));
      continue;
    }
    ds.diagnostics.insert(ds.diagnostics.end(), item.doc.diagnostics.begin(), item.doc.diagnostics.end());
    record.has_errors = count_errors(item.doc.diagnostics) > 0;
    record.width = item.doc.width;
    record.height = item.doc.height;
    if ((record.width <= 0 || record.height <= 0) && !record.path.empty()) {
      auto size = options.probe_size ? options.probe_size(record.path) : decode_image_size(record.path);
      if (size) {
        record.width = size->width;
        record.height = size->height;
      }
    }
    for (const VocObject& o : item.doc.objects) {
      Annotation a;
      a.class_id = ds.class_id_of(o.name);
      a.box = o.box;
      a.difficult = o.difficult;
      a.truncated = o.truncated;
      a.occluded = o.occluded;
      a.pose = o.pose;
      a.line = o.line;
      record.annotations.push_back(std::move(a));
    }
    ds.images.push_back(std::move(record));
  }
  // Images in a dedicated image folder without an annotation file.
  std::vector<fs::path> image_dirs;
  if (!options.images_dir.empty()) image_dirs.emplace_back(options.images_dir);
  if (devkit) image_dirs.push_back(p / "JPEGImages");
  for (const fs::path& dir : image_dirs) {
    for (const fs::path& image : detail::list_files(dir, false, detail::has_image_extension)) {
      if (!used_images.insert(image.lexically_normal().string()).second) continue;
      ImageRecord record;
      record.file = image.filename().string();
      record.path = image.string();
      record.labelled = false;
      const std::string stem = image.stem().string();
      record.split = split_of.count(stem) != 0 ? split_of[stem] : "";
      ds.images.push_back(std::move(record));
    }
  }
  return ds;
}

Result<WriteReport> write_voc(const Dataset& dataset, const std::string& out_dir,
                              const WriteOptions& options) {
  WriteReport report;
  const fs::path out(out_dir);
  std::map<std::string, std::vector<std::string>> split_lists;
  std::set<std::string> used_stems;
  double max_shift = 0;
  for (const ImageRecord& image : dataset.images) {
    if (image.has_errors) {
      report.skipped_images.push_back(image.path.empty() ? image.file : image.path);
      continue;
    }
    const std::string filename = fs::path(image.file).filename().string();
    const std::string stem = fs::path(filename).stem().string();
    if (!used_stems.insert(stem).second) {
      add_error(report.diagnostics, image.path.empty() ? image.file : image.path, 0,
                "another image has the stem '" + stem + "' (VOC names files by stem); skipped");
      report.skipped_images.push_back(image.file);
      continue;
    }
    if (image.labelled) {
      VocDocument doc;
      doc.folder = "JPEGImages";
      doc.filename = filename;
      doc.width = image.width;
      doc.height = image.height;
      doc.depth = 3;
      for (const Annotation& a : image.annotations) {
        if (a.iscrowd) {
          ++report.not_representable["crowd regions (iscrowd=1) not written: Pascal VOC has no crowd flag"];
          continue;
        }
        if (!a.segmentation.is_null() && !a.segmentation.empty()) {
          ++report.not_representable["segmentation (Pascal VOC XML holds boxes only)"];
        }
        if (a.area && std::fabs(*a.area - a.box.area()) > 0.01 * std::max(1.0, a.box.area())) {
          ++report.not_representable["COCO area differing from the box area (Pascal VOC has no area)"];
        }
        VocObject o;
        o.name = dataset.classes.at(static_cast<std::size_t>(a.class_id));
        o.pose = a.pose;
        o.truncated = a.truncated;
        o.difficult = a.difficult;
        o.occluded = a.occluded;
        o.box = a.box;
        for (double v : {a.box.x1, a.box.y1, a.box.x2, a.box.y2}) {
          const double shift = std::fabs(v - std::round(v));
          if (shift > 1e-3) {
            ++report
                  .not_representable["box coordinates rounded to whole pixels (Pascal VOC stores integers)"];
            max_shift = std::max(max_shift, shift);
            break;
          }
        }
        doc.objects.push_back(std::move(o));
      }
      const std::string xml_path = (out / "Annotations" / (stem + ".xml")).string();
      if (auto st = write_file_atomic(xml_path, format_voc_xml(doc)); !st) {
        add_error(report.diagnostics, xml_path, 0, st.error().message);
        continue;
      }
      ++report.files_written;
      report.annotations_written += doc.objects.size();
    }
    const std::string image_out = (out / "JPEGImages" / filename).string();
    if (auto st = detail::place_image(image, image_out, options.images); !st) {
      add_error(report.diagnostics, image_out, 0, st.error().message);
    } else if (options.images != ImageMode::kNone) {
      ++report.files_written;
    }
    if (!image.split.empty()) split_lists[image.split].push_back(stem);
    ++report.images_written;
  }
  if (max_shift > 0) {
    add_warning(report.diagnostics, "", 0,
                "box coordinates rounded to whole pixels; largest shift " +
                    detail::format_number(max_shift, 3) + " px");
  }
  if (!dataset.category_ids.empty()) {
    report.not_representable["COCO category ids (Pascal VOC names classes only)"] =
        dataset.category_ids.size();
  }
  for (const auto& [split, stems] : split_lists) {
    std::string text;
    for (const std::string& s : stems) text += s + "\n";
    const std::string file = (out / "ImageSets" / "Main" / (split + ".txt")).string();
    if (auto st = write_file_atomic(file, text); !st) {
      add_error(report.diagnostics, file, 0, st.error().message);
    } else {
      ++report.files_written;
    }
  }
  std::string classes;
  for (const std::string& c : dataset.classes) classes += c + "\n";
  if (auto st = write_file_atomic((out / "classes.txt").string(), classes); !st) {
    add_error(report.diagnostics, (out / "classes.txt").string(), 0, st.error().message);
  } else {
    ++report.files_written;
  }
  return report;
}

}  // namespace visearch::dataset
