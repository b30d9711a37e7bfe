// COCO bounding-box evaluation, numerically identical to pycocotools' COCOeval(iouType="bbox"):
// evaluate() + accumulate() + summarize(), written from the published algorithm.
//
//  - IoU thresholds 0.50:0.05:0.95 and recall thresholds 0:0.01:1 are computed exactly as numpy's
//    linspace does (i * step + start), because pycocotools compares recalls against them.
//  - Per image and category, detections are ordered by descending score with a stable sort (numpy's
//    mergesort: ties keep input order) and cut to maxDets[-1]; across images the concatenation follows
//    ascending image id, then the same stable sort.
//  - Ground truth is ignored when iscrowd (pycocotools overwrites any "ignore" field with iscrowd), when
//    `ignore` is set here (an extension, e.g. VOC difficult: ignored like a crowd but matched with normal
//    IoU, at most once), or when its area is outside the area range. Crowd regions use IoU = inter / det
//    area and may absorb any number of detections. Detection area is bbox w*h (loadRes).
//  - A ground-truth annotation with id 0 behaves as in pycocotools: a detection matched to it counts as
//    unmatched (a false positive). ModelEval never produces id 0; evaluate() reports it in `warnings`.
//  - 101-point interpolated precision; -1 marks "no ground truth" and is left out of every mean.
//
// Failure modes: kInvalidArgument when a detection names an image id absent from the ground truth
// (pycocotools asserts), or for non-finite coordinates or scores. Thread-safety: reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace visearch::eval {

struct GroundTruthBox {
  std::int64_t id = 0;
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  double x = 0;  // COCO bbox: left, top, width, height (pixels)
  double y = 0;
  double w = 0;
  double h = 0;
  double area = 0;  // the annotation's area (segment area in COCO files); used for area ranges
  bool iscrowd = false;
  bool ignore = false;  // extension (see above); pycocotools has no equivalent
};

struct DetectionBox {
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  double x = 0;
  double y = 0;
  double w = 0;
  double h = 0;
  double score = 0;
};

struct EvalCategory {
  std::int64_t id = 0;
  std::string name;
};

struct EvalInput {
  std::vector<std::int64_t> image_ids;   // every ground-truth image, with or without boxes
  std::vector<EvalCategory> categories;  // every ground-truth category
  std::vector<GroundTruthBox> ground_truth;
  std::vector<DetectionBox> detections;  // results-list order matters for score ties
};

struct CocoEvalParams {
  std::vector<double> iou_thresholds;     // default: numpy linspace(.5, .95, 10)
  std::vector<double> recall_thresholds;  // default: numpy linspace(0, 1, 101)
  std::vector<int> max_detections{1, 10, 100};
  std::vector<std::array<double, 2>> area_ranges{{0, 1e10}, {0, 1024}, {1024, 9216}, {9216, 1e10}};
};
CocoEvalParams default_params();

struct CategoryMetrics {
  std::int64_t id = 0;
  std::string name;
  double ap = -1;  // AP@[.5:.95], area all, maxDets 100; -1 when the category has no ground truth
  double ap50 = -1;
  double ap75 = -1;
  double ar100 = -1;
  std::size_t ground_truth = 0;  // non-crowd, not ignored boxes
  std::size_t detections = 0;
};

struct CocoMetrics {
  // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (summarize() order).
  std::array<double, 12> stats{};
  std::vector<CategoryMetrics> per_category;  // sorted by category id
  std::size_t images = 0;
  std::size_t ground_truth = 0;  // all boxes given (crowd included)
  std::size_t detections = 0;    // detections on evaluated categories
  std::vector<std::string> warnings;

  static constexpr std::array<std::string_view, 12> kNames{"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                                           "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
};

Result<CocoMetrics> evaluate_bbox(const EvalInput& input, const CocoEvalParams& params = default_params());

nlohmann::json to_json(const CocoMetrics& metrics);
// The 12 lines of pycocotools' summarize() followed by a per-class AP table.
std::string to_text(const CocoMetrics& metrics, bool per_class = true);

}  // namespace visearch::eval
