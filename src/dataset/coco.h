// COCO detection JSON: instances files ({"images", "annotations", "categories"}) and results lists
// ([{"image_id", "category_id", "bbox", "score"}]). bbox is [x, y, width, height] in pixels.
//
// Failure modes: malformed JSON is an Error with file:line:column. A well-formed file with bad entries
// (missing or non-numeric fields, negative sizes, unknown image or category ids, duplicate ids, boxes
// outside the image) parses: each bad entry is a Diagnostic with the line where that entry starts, and
// it is left out. Never throws or crashes on any input. Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "dataset/dataset.h"

namespace visearch::dataset {

struct CocoCategory {
  std::int64_t id = 0;
  std::string name;
  std::string supercategory;
  int line = 0;
};

struct CocoImage {
  std::int64_t id = 0;
  std::string file_name;
  int width = 0;  // 0 when absent
  int height = 0;
  int line = 0;
};

struct CocoAnnotation {  // NOLINT(bugprone-exception-escape): clang-tidy 14 false positive on implicit
                         // members
  std::optional<std::int64_t> id;  // absent in results lists
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  double x = 0;
  double y = 0;
  double w = 0;
  double h = 0;
  std::optional<double> area;
  bool iscrowd = false;
  std::optional<double> score;    // results
  nlohmann::json segmentation;    // null when absent
  std::optional<bool> difficult;  // from "attributes" (visearch/CVAT extension)
  std::optional<bool> truncated;
  std::optional<bool> occluded;
  std::string pose;
  int line = 0;
};

struct CocoDocument {
  bool is_results_list = false;  // the file was a bare array of results
  std::vector<CocoCategory> categories;
  std::vector<CocoImage> images;
  std::vector<CocoAnnotation> annotations;
  Diagnostics diagnostics;
  std::vector<std::int64_t> images_with_errors;  // image ids that had a rejected annotation
};

struct CocoParseOptions {
  // A box outside its image (beyond bounds_tolerance) drops the annotation as an error; when false it is
  // kept with a warning (evaluation keeps every box pycocotools would keep).
  bool box_outside_is_error = true;
  bool check_bounds = true;  // false: no bounds check at all (detections)
};

// Parses an instances file or a results list. Entries with problems are reported and dropped.
// Results lists are not checked against images (they have none).
Result<CocoDocument> parse_coco_json(std::string_view text, const std::string& origin,
                                     const CocoParseOptions& options = {});

// Reads a COCO data set: a .json file, or a folder with annotations/instances_<split>.json (or *.json).
// The split is taken from the file name (instances_val2017.json -> "val2017"; "default" -> "").
Result<Dataset> read_coco(const std::string& path, const LoadOptions& options);

// Writes annotations/instances_<split>.json per split (instances_default.json for "") and the images to
// <split>/ (images/ for ""). Ids are kept where the source had unique ones; new ids start at 1.
Result<WriteReport> write_coco(const Dataset& dataset, const std::string& out_dir,
                               const WriteOptions& options);

// An annotation's VOC-style flags (difficult, truncated, occluded, pose) as the COCO "attributes" object;
// empty when it has none (then the key is left out).
nlohmann::json coco_attributes(const Annotation& annotation);

// Serialises a COCO object with one array element per line (diff-friendly, and errors get useful lines).
std::string dump_coco_json(const nlohmann::json& document);

}  // namespace visearch::dataset
