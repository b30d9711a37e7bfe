#include "eval/coco_files.h"

#include <filesystem>
#include <map>
#include <unordered_map>

#include "dataset/atomic_file.h"
#include "dataset/coco.h"
#include "dataset/dataset.h"

namespace visearch::eval {

namespace fs = std::filesystem;
using dataset::CocoDocument;

Result<LoadedEvaluation> load_coco_evaluation(const std::string& ground_truth_path,
                                              const std::string& detections_path) {
  LoadedEvaluation out;
  auto gt_text = dataset::read_text_file(ground_truth_path);
  if (!gt_text) return gt_text.error();
  dataset::CocoParseOptions gt_options;
  gt_options.box_outside_is_error = false;  // keep every box pycocotools would keep
  auto gt = dataset::parse_coco_json(*gt_text, ground_truth_path, gt_options);
  if (!gt) return gt.error();
  if (gt->is_results_list) {
    return Unexpected{
        ErrorCode::kInvalidArgument,
        ground_truth_path + ": this is a results list; --ground-truth needs a COCO instances file"};
  }
  out.diagnostics = gt->diagnostics;
  for (const dataset::CocoImage& im : gt->images) out.input.image_ids.push_back(im.id);
  for (const dataset::CocoCategory& c : gt->categories)
    out.input.categories.push_back(EvalCategory{c.id, c.name});
  bool missing_area = false;
  std::int64_t next_id = 1;
  for (const dataset::CocoAnnotation& a : gt->annotations) next_id = std::max(next_id, a.id.value_or(0) + 1);
  for (const dataset::CocoAnnotation& a : gt->annotations) {
    GroundTruthBox g;
    if (a.id) {
      g.id = *a.id;
    } else {
      g.id = next_id++;
      dataset::add_warning(out.diagnostics, ground_truth_path, a.line,
                           "annotation without 'id'; numbered " + std::to_string(g.id));
    }
    g.image_id = a.image_id;
    g.category_id = a.category_id;
    g.x = a.x;
    g.y = a.y;
    g.w = a.w;
    g.h = a.h;
    g.area = a.area.value_or(a.w * a.h);
    missing_area = missing_area || !a.area;
    g.iscrowd = a.iscrowd;
    out.input.ground_truth.push_back(g);
  }
  if (missing_area) {
    dataset::add_warning(out.diagnostics, ground_truth_path, 0,
                         "annotations without 'area' use the box area");
  }

  auto dt_text = dataset::read_text_file(detections_path);
  if (!dt_text) return dt_text.error();
  dataset::CocoParseOptions dt_options;
  dt_options.check_bounds = false;
  auto dt = dataset::parse_coco_json(*dt_text, detections_path, dt_options);
  if (!dt) return dt.error();
  out.diagnostics.insert(out.diagnostics.end(), dt->diagnostics.begin(), dt->diagnostics.end());
  // Id mapping by file name / category name when the detections file declares its own.
  std::unordered_map<std::int64_t, std::int64_t> image_map;
  std::unordered_map<std::int64_t, std::int64_t> category_map;
  const bool remap_images = !dt->images.empty();
  const bool remap_categories = !dt->categories.empty();
  if (remap_images) {
    std::map<std::string, std::int64_t> gt_by_name;
    std::map<std::string, std::int64_t> gt_by_base;
    for (const dataset::CocoImage& im : gt->images) {
      gt_by_name.emplace(im.file_name, im.id);
      gt_by_base.emplace(fs::path(im.file_name).filename().string(), im.id);
    }
    for (const dataset::CocoImage& im : dt->images) {
      if (auto it = gt_by_name.find(im.file_name); it != gt_by_name.end()) {
        image_map[im.id] = it->second;
      } else if (auto base = gt_by_base.find(fs::path(im.file_name).filename().string());
                 base != gt_by_base.end()) {
        image_map[im.id] = base->second;
      }
    }
  }
  if (remap_categories) {
    std::map<std::string, std::int64_t> gt_by_name;
    for (const dataset::CocoCategory& c : gt->categories)
      gt_by_name.emplace(dataset::normalize_class_name(c.name), c.id);
    for (const dataset::CocoCategory& c : dt->categories) {
      if (auto it = gt_by_name.find(dataset::normalize_class_name(c.name)); it != gt_by_name.end())
        category_map[c.id] = it->second;
    }
  }
  std::size_t unmatched_images = 0;
  std::size_t unmatched_categories = 0;
  for (const dataset::CocoAnnotation& a : dt->annotations) {
    DetectionBox d;
    d.image_id = a.image_id;
    d.category_id = a.category_id;
    if (remap_images) {
      const auto it = image_map.find(a.image_id);
      if (it == image_map.end()) {
        ++unmatched_images;
        continue;
      }
      d.image_id = it->second;
    }
    if (remap_categories) {
      const auto it = category_map.find(a.category_id);
      if (it == category_map.end()) {
        ++unmatched_categories;
        continue;
      }
      d.category_id = it->second;
    }
    if (d.image_id != a.image_id || d.category_id != a.category_id) ++out.detections_remapped;
    d.x = a.x;
    d.y = a.y;
    d.w = a.w;
    d.h = a.h;
    d.score = a.score.value_or(1.0);
    if (!a.score) {
      dataset::add_warning(out.diagnostics, detections_path, a.line,
                           "detection without 'score'; 1.0 assumed");
    }
    out.input.detections.push_back(d);
  }
  if (unmatched_images > 0) {
    dataset::add_error(out.diagnostics, detections_path, 0,
                       std::to_string(unmatched_images) +
                           " detection(s) on images whose file name is not in the ground truth; left out");
  }
  if (unmatched_categories > 0) {
    dataset::add_error(out.diagnostics, detections_path, 0,
                       std::to_string(unmatched_categories) +
                           " detection(s) of categories whose name is not in the ground truth; left out");
  }
  return out;
}

}  // namespace visearch::eval
