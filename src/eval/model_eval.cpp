#include "eval/model_eval.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

namespace visearch::eval {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string image_label(const dataset::ImageRecord& image) {
  return image.path.empty() ? image.file : image.path;
}

}  // namespace

Result<std::optional<std::string>> select_split(const dataset::Dataset& dataset,
                                                const std::string& requested) {
  const std::vector<std::string> splits = dataset.splits();
  const auto name = [](const std::string& s) { return s.empty() ? std::string("\"\" (no split)") : s; };
  if (!requested.empty()) {
    const bool known = std::find(splits.begin(), splits.end(), requested) != splits.end() ||
                       dataset.split_aliases.count(requested) != 0;
    if (known) return std::optional<std::string>(requested);
    if (requested == "all") return std::optional<std::string>();
    std::string list;
    for (const std::string& s : splits) list += (list.empty() ? "" : ", ") + name(s);
    for (const auto& [alias, target] : dataset.split_aliases)
      list += ", " + alias + " (= " + name(target) + ")";
    return Unexpected{ErrorCode::kInvalidArgument,
                      "no split '" + requested + "' in the data set; it has: " + list + " (or 'all')"};
  }
  if (splits.size() == 1) return std::optional<std::string>(splits.front());
  if (std::find(splits.begin(), splits.end(), "val") != splits.end() ||
      dataset.split_aliases.count("val") != 0) {
    return std::optional<std::string>("val");
  }
  for (const std::string& s : splits) {
    if (s.find("val") != std::string::npos) return std::optional<std::string>(s);
  }
  return std::optional<std::string>();
}

Result<GroundTruthSet> build_ground_truth(const dataset::Dataset& ds,
                                          const std::vector<std::string>& model_labels,
                                          const ModelEvalOptions& options) {
  auto split = select_split(ds, options.split);
  if (!split) return split.error();
  GroundTruthSet out;
  out.split_label =
      split->has_value() ? (split->value().empty() ? std::string("(no split)") : split->value()) : "all";
  out.match = dataset::match_classes(ds.classes, model_labels, options.class_map);
  // Categories: one per model class reached by some data-set class.
  std::vector<std::int64_t> category_of_class(ds.classes.size(), -1);
  for (std::size_t c = 0; c < ds.classes.size(); ++c) {
    const int m = out.match.to_model[c];
    if (m < 0) continue;
    const std::int64_t id =
        ds.category_ids.size() == ds.classes.size() ? ds.category_ids[c] : static_cast<std::int64_t>(c) + 1;
    auto [it, inserted] = out.category_of_model_class.emplace(m, id);
    if (inserted) {
      out.input.categories.push_back(EvalCategory{id, model_labels[static_cast<std::size_t>(m)]});
      out.model_classes.push_back(m);
    } else {
      dataset::add_warning(out.diagnostics, "", 0,
                           "data-set classes '" + ds.classes[c] + "' and another both map to model class '" +
                               model_labels[static_cast<std::size_t>(m)] + "'; merged");
    }
    category_of_class[c] = it->second;
  }
  if (out.input.categories.empty()) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "no data-set class matches a model class (give a --class-map with synonyms)"};
  }
  if (out.model_classes.size() == model_labels.size()) out.model_classes.clear();
  std::sort(out.model_classes.begin(), out.model_classes.end());

  std::vector<const dataset::ImageRecord*> selected;
  for (const dataset::ImageRecord& image : ds.images) {
    if (split->has_value() && !ds.in_split(image, split->value())) continue;
    if (image.path.empty()) {
      dataset::add_warning(out.diagnostics, image.annotation_file, 0,
                           "image '" + image.file + "' not found; left out");
      continue;
    }
    if (image.has_errors) {
      dataset::add_warning(out.diagnostics, image_label(image), 0, "annotations had errors; image left out");
      continue;
    }
    selected.push_back(&image);
  }
  if (selected.empty())
    return Unexpected{ErrorCode::kInvalidArgument, "no usable image in split '" + out.split_label + "'"};
  std::set<std::int64_t> seen;
  bool coco_ids = true;
  for (const dataset::ImageRecord* image : selected) {
    coco_ids = coco_ids && image->coco_id && *image->coco_id > 0 && seen.insert(*image->coco_id).second;
  }
  std::map<std::string, std::size_t> left_out;
  std::int64_t next_gt = 1;
  for (std::size_t n = 0; n < selected.size(); ++n) {
    const dataset::ImageRecord& image = *selected[n];
    const std::int64_t image_id = coco_ids ? *image.coco_id : static_cast<std::int64_t>(n) + 1;
    out.input.image_ids.push_back(image_id);
    out.images.push_back(&image);
    for (const dataset::Annotation& a : image.annotations) {
      if (a.class_id < 0 || static_cast<std::size_t>(a.class_id) >= ds.classes.size()) continue;
      const std::int64_t category = category_of_class[static_cast<std::size_t>(a.class_id)];
      if (category < 0) {
        ++left_out[ds.classes[static_cast<std::size_t>(a.class_id)]];
        continue;
      }
      GroundTruthBox g;
      g.id = next_gt++;
      g.image_id = image_id;
      g.category_id = category;
      g.x = a.box.x1;
      g.y = a.box.y1;
      g.w = a.box.width();
      g.h = a.box.height();
      g.area = a.area.value_or(g.w * g.h);
      g.iscrowd = a.iscrowd;
      g.ignore = options.difficult_as_ignore && a.difficult.value_or(false);
      out.input.ground_truth.push_back(g);
    }
  }
  if (!left_out.empty()) {
    std::string list;
    for (const auto& [name, count] : left_out)
      list += (list.empty() ? "" : ", ") + name + " (" + std::to_string(count) + ")";
    dataset::add_warning(out.diagnostics, "", 0,
                         "boxes of classes the model does not know were left out: " + list);
  }
  return out;
}

double ModelEvalResult::p50_ms() const {
  return median(detect_ms);
}

double ModelEvalResult::images_per_second() const {
  return wall_s > 0 ? static_cast<double>(detect_ms.size()) / wall_s : 0.0;
}

Result<ModelEvalResult> evaluate_model(const Detector& detector, const dataset::Dataset& ds,
                                       const ModelEvalOptions& options) {
  auto gt = build_ground_truth(ds, detector.spec().labels, options);
  if (!gt) return gt.error();
  ModelEvalResult result;
  result.model = detector.spec().name;
  result.ground_truth = std::move(*gt);
  GroundTruthSet& set = result.ground_truth;
  DetectOptions detect;
  detect.score_threshold = options.score_threshold;
  detect.iou_threshold = options.iou_threshold;
  detect.max_detections = options.max_detections;
  detect.agnostic_nms = options.agnostic_nms;
  detect.tile = options.tile;
  if (options.restrict_classes) detect.classes = set.model_classes;
  if (auto valid = detector.validate(detect); !valid) return valid.error();

  std::vector<bool> failed(set.images.size(), false);
  bool warmed = false;
  Clock::time_point start = Clock::now();
  for (std::size_t n = 0; n < set.images.size(); ++n) {
    const dataset::ImageRecord& image = *set.images[n];
    const auto t0 = Clock::now();
    auto bytes = read_file_bytes(image.path, std::uint64_t{512} << 20U, FileKind::kRegularOnly);
    Result<DecodedImage> decoded =
        bytes ? decode_image(*bytes, options.limits) : Result<DecodedImage>(bytes.error());
    const double decode_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!decoded) {
      dataset::add_error(set.diagnostics, image.path, 0, decoded.error().message + "; image left out");
      failed[n] = true;
      if (options.progress) options.progress(n + 1, set.images.size());
      continue;
    }
    if (!warmed) {
      const auto w0 = Clock::now();
      for (int i = 0; i < options.warmup_runs; ++i) (void)detector.detect(decoded->image, detect);
      warmed = true;
      const auto warm = Clock::now() - w0;
      // The warm-up is not part of the throughput measurement.
      start += warm;
    }
    auto output = detector.detect(decoded->image, detect);
    if (!output) {
      dataset::add_error(set.diagnostics, image.path, 0, output.error().message + "; image left out");
      failed[n] = true;
      if (options.progress) options.progress(n + 1, set.images.size());
      continue;
    }
    result.decode_ms.push_back(decode_ms);
    result.detect_ms.push_back(output->timing.preprocess_ms + output->timing.inference_ms +
                               output->timing.postprocess_ms);
    const std::int64_t image_id = set.input.image_ids[n];
    for (const Detection& d : output->detections) {
      const auto it = set.category_of_model_class.find(d.class_id);
      if (it == set.category_of_model_class.end()) continue;
      DetectionBox box;
      box.image_id = image_id;
      box.category_id = it->second;
      box.x = static_cast<double>(d.box.x1);
      box.y = static_cast<double>(d.box.y1);
      box.w = static_cast<double>(d.box.x2) - static_cast<double>(d.box.x1);
      box.h = static_cast<double>(d.box.y2) - static_cast<double>(d.box.y1);
      box.score = static_cast<double>(d.score);
      set.input.detections.push_back(box);
    }
    if (options.progress) options.progress(n + 1, set.images.size());
  }
  result.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  // Drop the images that could not be processed from the evaluation.
  std::set<std::int64_t> dropped;
  for (std::size_t n = 0; n < failed.size(); ++n) {
    if (failed[n]) dropped.insert(set.input.image_ids[n]);
  }
  if (!dropped.empty()) {
    result.images_failed = dropped.size();
    std::vector<std::int64_t> ids;
    std::vector<const dataset::ImageRecord*> images;
    for (std::size_t n = 0; n < set.images.size(); ++n) {
      if (!failed[n]) {
        ids.push_back(set.input.image_ids[n]);
        images.push_back(set.images[n]);
      }
    }
    set.input.image_ids = std::move(ids);
    set.images = std::move(images);
    std::erase_if(set.input.ground_truth,
                  [&dropped](const GroundTruthBox& g) { return dropped.count(g.image_id) != 0; });
  }
  if (set.input.image_ids.empty())
    return Unexpected{ErrorCode::kInvalidArgument, "no image could be evaluated"};
  auto metrics = evaluate_bbox(set.input);
  if (!metrics) return metrics.error();
  result.metrics = std::move(*metrics);
  return result;
}

nlohmann::json ground_truth_to_coco_json(const GroundTruthSet& gt) {
  nlohmann::json images = nlohmann::json::array();
  for (std::size_t n = 0; n < gt.images.size(); ++n) {
    images.push_back({{"id", gt.input.image_ids[n]},
                      {"file_name", gt.images[n]->file},
                      {"width", gt.images[n]->width},
                      {"height", gt.images[n]->height}});
  }
  nlohmann::json categories = nlohmann::json::array();
  for (const EvalCategory& c : gt.input.categories)
    categories.push_back({{"id", c.id}, {"name", c.name}, {"supercategory", ""}});
  nlohmann::json annotations = nlohmann::json::array();
  for (const GroundTruthBox& g : gt.input.ground_truth) {
    nlohmann::json a{{"id", g.id},
                     {"image_id", g.image_id},
                     {"category_id", g.category_id},
                     {"bbox", {g.x, g.y, g.w, g.h}},
                     {"area", g.area},
                     {"iscrowd", g.iscrowd ? 1 : 0}};
    if (g.ignore) a["ignore"] = 1;
    annotations.push_back(std::move(a));
  }
  return {{"info", {{"description", "visearch eval ground truth"}}},
          {"categories", std::move(categories)},
          {"images", std::move(images)},
          {"annotations", std::move(annotations)}};
}

nlohmann::json detections_to_coco_json(const std::vector<DetectionBox>& detections) {
  nlohmann::json out = nlohmann::json::array();
  for (const DetectionBox& d : detections) {
    out.push_back({{"image_id", d.image_id},
                   {"category_id", d.category_id},
                   {"bbox", {d.x, d.y, d.w, d.h}},
                   {"score", d.score}});
  }
  return out;
}

nlohmann::json evaluation_to_json(const ModelEvalResult& result, const std::string& dataset_path,
                                  const ModelEvalOptions& options) {
  nlohmann::json out = to_json(result.metrics);
  nlohmann::json renamed = nlohmann::json::object();
  for (const auto& [from, to] : result.ground_truth.match.renamed) renamed[from] = to;
  nlohmann::json diagnostics = nlohmann::json::array();
  for (const dataset::Diagnostic& d : result.ground_truth.diagnostics)
    diagnostics.push_back(dataset::to_json(d));
  out["model"] = result.model;
  out["dataset"] = dataset_path;
  out["split"] = result.ground_truth.split_label;
  out["settings"] = {{"score_threshold", options.score_threshold},
                     {"iou_threshold", options.iou_threshold},
                     {"max_detections", options.max_detections},
                     {"agnostic_nms", options.agnostic_nms},
                     {"restrict_classes", options.restrict_classes},
                     {"difficult", options.difficult_as_ignore ? "ignore" : "normal"}};
  if (options.tile.mode != TileMode::kOff) {
    out["settings"]["tile"] = tile_text(options.tile);
    out["settings"]["tile_overlap"] = options.tile.overlap;
    out["settings"]["tile_merge"] = options.tile.merge == TileMerge::kEdge ? "edge" : "nms";
  }
  out["classes"] = {{"renamed", std::move(renamed)}, {"not_in_model", result.ground_truth.match.unmatched}};
  out["timing"] = {{"p50_detect_ms", result.p50_ms()},
                   {"images_per_second", result.images_per_second()},
                   {"wall_s", result.wall_s},
                   {"images_failed", result.images_failed}};
  out["diagnostics"] = std::move(diagnostics);
  return out;
}

}  // namespace visearch::eval
