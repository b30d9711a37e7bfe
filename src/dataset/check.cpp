#include "dataset/check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "dataset/fs_util.h"

namespace visearch::dataset {
namespace {

using detail::format_number;

std::string image_name(const ImageRecord& image) {
  return image.path.empty() ? image.file : image.path;
}

std::string split_label(const std::string& split) {
  return split.empty() ? "(no split)" : split;
}

}  // namespace

Result<Dataset> load_with_fingerprints(const std::string& path, const LoadOptions& load,
                                       std::vector<ImageFingerprint>& prints) {
  std::map<std::string, ImageFingerprint> cache;
  LoadOptions opts = load;
  opts.probe_size = [&cache](const std::string& image_path) -> Result<Size> {
    auto it = cache.find(image_path);
    if (it == cache.end()) it = cache.emplace(image_path, fingerprint_image(image_path)).first;
    if (!it->second.ok) return Unexpected{ErrorCode::kCorruptImage, it->second.error};
    return Size{it->second.width, it->second.height};
  };
  auto loaded = load_dataset(path, opts);
  if (!loaded) return loaded.error();
  prints.assign(loaded->images.size(), ImageFingerprint{});
  for (std::size_t i = 0; i < loaded->images.size(); ++i) {
    const ImageRecord& image = loaded->images[i];
    if (image.path.empty()) continue;
    auto it = cache.find(image.path);
    if (it == cache.end()) it = cache.emplace(image.path, fingerprint_image(image.path)).first;
    prints[i] = it->second;
  }
  return loaded;
}

Result<CheckReport> check_dataset(const std::string& path, const LoadOptions& load,
                                  const CheckOptions& options) {
  std::vector<ImageFingerprint> image_prints;
  auto loaded = load_with_fingerprints(path, load, image_prints);
  if (!loaded) return loaded.error();
  Dataset& ds = *loaded;

  CheckReport report;
  report.path = path;
  report.format = ds.format;
  report.classes = ds.classes;
  report.diagnostics = ds.diagnostics;
  report.per_class.assign(ds.classes.size(), 0);
  report.images = ds.images.size();

  std::map<std::string, std::size_t> split_index;
  for (std::size_t i = 0; i < ds.images.size(); ++i) {
    const ImageRecord& image = ds.images[i];
    const std::string name = image_name(image);
    auto [sit, inserted] = split_index.emplace(image.split, report.splits.size());
    if (inserted) {
      SplitCounts counts;
      counts.name = image.split;
      counts.per_class.assign(ds.classes.size(), 0);
      report.splits.push_back(std::move(counts));
    }
    SplitCounts& split = report.splits[sit->second];
    ++split.images;
    if (image.path.empty()) {
      report.labels_without_images.push_back(image.annotation_file.empty() ? image.file
                                                                           : image.annotation_file);
      add_error(report.diagnostics, image.annotation_file, 0,
                "label without image: '" + image.file + "' not found");
    }
    if (!image.labelled) {
      ++split.unlabelled;
      report.images_without_labels.push_back(name);
      add_warning(report.diagnostics, name, 0, "image without labels (no annotation file)");
    }
    const ImageFingerprint& print = image_prints[i];
    int width = image.width;
    int height = image.height;
    if (!image.path.empty()) {
      if (!print.ok) {
        report.unreadable_images.push_back(image.path);
        // The YOLO reader has already reported it through the probe.
        if (ds.format != DatasetFormat::kYolo)
          add_error(report.diagnostics, image.path, 0, "unreadable image: " + print.error);
      } else {
        if (image.width > 0 && image.height > 0 &&
            (image.width != print.width || image.height != print.height)) {
          add_error(report.diagnostics, image.annotation_file, 0,
                    "'" + image.file + "' is " + std::to_string(print.width) + "x" +
                        std::to_string(print.height) + " but the annotation says " +
                        std::to_string(image.width) + "x" + std::to_string(image.height));
        }
        width = print.width;
        height = print.height;
      }
    }
    for (std::size_t a = 0; a < image.annotations.size(); ++a) {
      const Annotation& ann = image.annotations[a];
      ++report.boxes;
      ++split.boxes;
      if (ann.class_id >= 0 && static_cast<std::size_t>(ann.class_id) < ds.classes.size()) {
        ++split.per_class[static_cast<std::size_t>(ann.class_id)];
        ++report.per_class[static_cast<std::size_t>(ann.class_id)];
      }
      const PixelBox& b = ann.box;
      const std::string& file = image.annotation_file;
      // COCO files are often one long line: name the annotation id as well.
      const std::string what = (ds.classes.empty() || ann.class_id < 0
                                    ? std::string("box")
                                    : "'" + ds.classes[static_cast<std::size_t>(ann.class_id)] + "' box") +
                               (ann.coco_id ? " (annotation id " + std::to_string(*ann.coco_id) + ")" : "");
      if (b.width() <= 0 || b.height() <= 0) {
        ++report.degenerate_boxes;
        add_error(report.diagnostics, file, ann.line,
                  "degenerate " + what + " (" + format_number(b.width(), 2) + "x" +
                      format_number(b.height(), 2) + " px)");
        continue;
      }
      if (width > 0 && height > 0) {
        const double tx = bounds_tolerance(width);
        const double ty = bounds_tolerance(height);
        if (b.x1 < -tx || b.y1 < -ty || b.x2 > width + tx || b.y2 > height + ty) {
          ++report.boxes_out_of_bounds;
          add_error(report.diagnostics, file, ann.line,
                    what + " [" + format_number(b.x1, 1) + ", " + format_number(b.y1, 1) + ", " +
                        format_number(b.x2, 1) + ", " + format_number(b.y2, 1) + "] outside the " +
                        std::to_string(width) + "x" + std::to_string(height) + " image");
        }
        if (b.width() < options.tiny_pixels || b.height() < options.tiny_pixels ||
            b.width() < options.tiny_fraction * width || b.height() < options.tiny_fraction * height) {
          ++report.tiny_boxes;
          add_warning(report.diagnostics, file, ann.line,
                      "tiny " + what + " (" + format_number(b.width(), 1) + "x" +
                          format_number(b.height(), 1) + " px)");
        }
      }
      for (std::size_t p = 0; p < a; ++p) {
        const Annotation& other = image.annotations[p];
        if (other.class_id == ann.class_id && std::fabs(other.box.x1 - b.x1) < 0.5 &&
            std::fabs(other.box.y1 - b.y1) < 0.5 && std::fabs(other.box.x2 - b.x2) < 0.5 &&
            std::fabs(other.box.y2 - b.y2) < 0.5) {
          ++report.duplicate_boxes;
          add_warning(report.diagnostics, file, ann.line,
                      "duplicate " + what + " (same as line " + std::to_string(other.line) + ")");
          break;
        }
      }
    }
  }
  for (const std::string& orphan : ds.orphan_annotations) {
    report.labels_without_images.push_back(orphan);
    add_error(report.diagnostics, orphan, 0, "label without image");
  }

  const DuplicateGroups dups = find_duplicates(image_prints, options.near_duplicate_distance);
  for (const std::vector<std::size_t>& group : dups.exact) {
    std::vector<std::string> names;
    bool cross_split = false;
    for (std::size_t i : group) {
      names.push_back(image_name(ds.images[i]));
      cross_split = cross_split || ds.images[i].split != ds.images[group.front()].split;
    }
    std::string list;
    for (std::size_t k = 1; k < names.size(); ++k) list += (k > 1 ? ", " : "") + names[k];
    if (cross_split) {
      add_error(report.diagnostics, names.front(), 0, "the same image is in more than one split: " + list);
    } else {
      add_warning(report.diagnostics, names.front(), 0, "exact duplicate image: " + list);
    }
    report.exact_duplicates.push_back(std::move(names));
  }
  for (std::size_t k = 0; k < dups.near.size(); ++k) {
    const ImageRecord& a = ds.images[dups.near[k].first];
    const ImageRecord& b = ds.images[dups.near[k].second];
    report.near_duplicates.push_back({image_name(a), image_name(b), dups.near_distance[k]});
    add_warning(
        report.diagnostics, image_name(a), 0,
        "near duplicate of " + image_name(b) + " (dHash distance " + std::to_string(dups.near_distance[k]) +
            ")" + (a.split != b.split ? ", in another split (" + split_label(b.split) + ")" : std::string()));
  }

  std::size_t most = 0;
  std::size_t least = 0;
  for (std::size_t c = 0; c < report.per_class.size(); ++c) {
    const std::size_t n = report.per_class[c];
    if (n == 0) {
      report.unused_classes.push_back(ds.classes[c]);
      continue;
    }
    most = std::max(most, n);
    least = least == 0 ? n : std::min(least, n);
  }
  const std::size_t used = report.per_class.size() - report.unused_classes.size();
  report.imbalance_ratio =
      used >= 2 && least > 0 ? static_cast<double>(most) / static_cast<double>(least) : 0.0;
  if (report.imbalance_ratio > options.imbalance_warning_ratio) {
    add_warning(report.diagnostics, "", 0,
                "class imbalance: the most frequent class has " + format_number(report.imbalance_ratio, 1) +
                    "x the boxes of the least frequent");
  }
  if (!report.unused_classes.empty()) {
    std::string list;
    for (std::size_t k = 0; k < report.unused_classes.size() && k < 20; ++k)
      list += (k ? ", " : "") + report.unused_classes[k];
    if (report.unused_classes.size() > 20) list += ", ...";
    add_warning(report.diagnostics, "", 0,
                std::to_string(report.unused_classes.size()) + " class(es) have no boxes: " + list);
  }
  return report;
}

nlohmann::json to_json(const CheckReport& report) {
  nlohmann::json splits = nlohmann::json::array();
  for (const SplitCounts& s : report.splits) {
    nlohmann::json per_class = nlohmann::json::object();
    for (std::size_t c = 0; c < s.per_class.size(); ++c) {
      if (s.per_class[c] > 0) per_class[report.classes[c]] = s.per_class[c];
    }
    splits.push_back({{"name", s.name},
                      {"images", s.images},
                      {"images_without_labels", s.unlabelled},
                      {"boxes", s.boxes},
                      {"per_class", std::move(per_class)}});
  }
  nlohmann::json per_class = nlohmann::json::object();
  for (std::size_t c = 0; c < report.per_class.size(); ++c)
    per_class[report.classes[c]] = report.per_class[c];
  nlohmann::json near = nlohmann::json::array();
  for (const auto& n : report.near_duplicates)
    near.push_back({{"a", n.a}, {"b", n.b}, {"distance", n.distance}});
  nlohmann::json diagnostics = nlohmann::json::array();
  for (const Diagnostic& d : report.diagnostics) diagnostics.push_back(to_json(d));
  return {{"path", report.path},
          {"format", format_name(report.format)},
          {"classes", report.classes},
          {"images", report.images},
          {"boxes", report.boxes},
          {"splits", std::move(splits)},
          {"per_class", std::move(per_class)},
          {"images_without_labels", report.images_without_labels},
          {"labels_without_images", report.labels_without_images},
          {"unreadable_images", report.unreadable_images},
          {"boxes_out_of_bounds", report.boxes_out_of_bounds},
          {"degenerate_boxes", report.degenerate_boxes},
          {"tiny_boxes", report.tiny_boxes},
          {"duplicate_boxes", report.duplicate_boxes},
          {"exact_duplicates", report.exact_duplicates},
          {"near_duplicates", std::move(near)},
          {"imbalance_ratio", report.imbalance_ratio},
          {"unused_classes", report.unused_classes},
          {"errors", report.errors()},
          {"warnings", report.warnings()},
          {"diagnostics", std::move(diagnostics)}};
}

std::string to_text(const CheckReport& report, std::size_t max_listed) {
  std::string out;
  char line[512];
  const auto add = [&out, &line](int n) {
    if (n > 0) out.append(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1));
  };
  add(std::snprintf(line, sizeof line, "%s (%s): %zu images, %zu boxes, %zu classes\n", report.path.c_str(),
                    std::string(format_name(report.format)).c_str(), report.images, report.boxes,
                    report.classes.size()));
  for (const SplitCounts& s : report.splits) {
    add(std::snprintf(line, sizeof line, "  split %-12s %6zu images (%zu without labels)  %7zu boxes\n",
                      split_label(s.name).c_str(), s.images, s.unlabelled, s.boxes));
  }
  std::vector<std::size_t> order(report.classes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return report.per_class[a] > report.per_class[b]; });
  out += "  boxes per class:";
  std::size_t shown = 0;
  for (std::size_t c : order) {
    if (shown++ == 12) {
      out += " ...";
      break;
    }
    out += " " + report.classes[c] + " " + std::to_string(report.per_class[c]) + ",";
  }
  if (!out.empty() && out.back() == ',') out.pop_back();
  out += "\n";
  if (report.imbalance_ratio > 0) {
    add(std::snprintf(line, sizeof line, "  class imbalance (most/least frequent used class): %.1f\n",
                      report.imbalance_ratio));
  }
  add(std::snprintf(line, sizeof line,
                    "  images without labels %zu, labels without images %zu, unreadable images %zu\n"
                    "  boxes: out of bounds %zu, degenerate %zu, tiny %zu, duplicate %zu\n"
                    "  duplicate images: %zu exact group(s), %zu near pair(s)\n",
                    report.images_without_labels.size(), report.labels_without_images.size(),
                    report.unreadable_images.size(), report.boxes_out_of_bounds, report.degenerate_boxes,
                    report.tiny_boxes, report.duplicate_boxes, report.exact_duplicates.size(),
                    report.near_duplicates.size()));
  // Errors first, then warnings.
  std::size_t listed = 0;
  for (Severity severity : {Severity::kError, Severity::kWarning}) {
    for (const Diagnostic& d : report.diagnostics) {
      if (d.severity != severity) continue;
      if (listed++ < max_listed) out += "  " + d.to_string() + "\n";
    }
  }
  if (listed > max_listed) out += "  ... " + std::to_string(listed - max_listed) + " more (see --json)\n";
  add(std::snprintf(line, sizeof line, "%zu error(s), %zu warning(s)\n", report.errors(), report.warnings()));
  return out;
}

}  // namespace visearch::dataset
