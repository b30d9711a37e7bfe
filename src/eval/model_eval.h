// Running a detector over a data set and scoring it with evaluate_bbox().
//
// Classes: data-set classes are matched to the model's labels by name (dataset/class_map.h). Boxes of
// classes the model does not know are left out of the ground truth (and reported); detections are
// restricted to the matched classes (DetectOptions::classes, so the max-detections budget is spent on
// them; see ModelEvalOptions::restrict_classes). Images: the selected split; an image whose annotations had
// read errors, or that cannot be read or detected, is left out and reported (an unlabelled image stays in as
// background).
//
// Ids: image ids are the COCO ids when the data set has unique ones, else 1..N in data-set order;
// category ids are the data set's COCO ids, else class index + 1; ground-truth ids are 1..N.
// The ground truth and detections can be written as COCO files (to_coco_json) so that pycocotools,
// or `visearch eval --ground-truth --detections`, reproduces the same numbers.
//
// Thread-safety: evaluate_model() is reentrant; it calls detector.detect() sequentially.
// Failure modes: kInvalidArgument for an unknown split, no matching classes, or no usable image.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "dataset/class_map.h"
#include "dataset/dataset.h"
#include "eval/coco_eval.h"
#include "io/image_decode.h"
#include "model/detector.h"

namespace visearch::eval {

struct ModelEvalOptions {
  float score_threshold = 0.001F;
  float iou_threshold = 0.6F;
  int max_detections = 100;
  bool agnostic_nms = false;
  // true: the model detects only the matched classes (DetectOptions::classes), so the max-detections
  // budget goes to classes that are scored. false: it detects all its classes and the others are dropped
  // after NMS and the cut (how the reference figures in ../shared/models/README.md were made).
  bool restrict_classes = true;
  TileOptions tile;                  // off: one pass per image; else DetectOptions::tile (model/tiling.h)
  std::string split;                 // "" = automatic (select_split)
  bool difficult_as_ignore = false;  // VOC difficult boxes: ignored instead of ordinary ground truth
  dataset::ClassMap class_map;
  DecodeLimits limits;
  int warmup_runs = 1;  // untimed detections on the first image
  std::function<void(std::size_t done, std::size_t total)> progress;
};

// The split to evaluate: `requested` when given (kInvalidArgument listing the splits when unknown),
// else the only split, else "val" (or a split whose name contains "val"); nullopt = every image.
Result<std::optional<std::string>> select_split(const dataset::Dataset& dataset,
                                                const std::string& requested);

// Holds pointers into the Dataset it was built from: the Dataset must outlive it (the rvalue overloads
// below are deleted so a temporary cannot be passed).
struct GroundTruthSet {
  EvalInput input;                                  // image ids, categories, ground truth (no detections)
  std::vector<const dataset::ImageRecord*> images;  // parallel to input.image_ids; owned by the Dataset
  std::map<int, std::int64_t> category_of_model_class;
  std::vector<int> model_classes;  // DetectOptions::classes (empty = all)
  dataset::ClassMatch match;
  dataset::Diagnostics diagnostics;
  std::string split_label;  // for reports: the split name, or "all"
};

Result<GroundTruthSet> build_ground_truth(const dataset::Dataset& dataset,
                                          const std::vector<std::string>& model_labels,
                                          const ModelEvalOptions& options);
Result<GroundTruthSet> build_ground_truth(dataset::Dataset&& dataset,
                                          const std::vector<std::string>& model_labels,
                                          const ModelEvalOptions& options) = delete;

struct ModelEvalResult {
  std::string model;
  GroundTruthSet ground_truth;  // input.detections filled
  CocoMetrics metrics;
  std::vector<double> detect_ms;  // per evaluated image: preprocess + inference + postprocess
  std::vector<double> decode_ms;
  double wall_s = 0;  // decode + detect over all images
  std::size_t images_failed = 0;

  [[nodiscard]] double p50_ms() const;
  [[nodiscard]] double images_per_second() const;
};

Result<ModelEvalResult> evaluate_model(const Detector& detector, const dataset::Dataset& dataset,
                                       const ModelEvalOptions& options);
Result<ModelEvalResult> evaluate_model(const Detector& detector, dataset::Dataset&& dataset,
                                       const ModelEvalOptions& options) = delete;

// COCO instances JSON of the ground truth, and the COCO results list of the detections.
nlohmann::json ground_truth_to_coco_json(const GroundTruthSet& ground_truth);
nlohmann::json detections_to_coco_json(const std::vector<DetectionBox>& detections);

// metrics.json: metrics plus model, data set, split, settings and timing.
nlohmann::json evaluation_to_json(const ModelEvalResult& result, const std::string& dataset_path,
                                  const ModelEvalOptions& options);

}  // namespace visearch::eval
