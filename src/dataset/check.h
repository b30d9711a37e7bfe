// Data-set health check: counts per split and class, images without labels and labels without images,
// unreadable images, declared sizes that disagree with the file, boxes out of bounds, degenerate
// (zero area) or tiny (< 8 px or < 1 % of the image side), duplicate boxes, exact duplicate images
// (same bytes) and near duplicates (dHash), class imbalance.
//
// Severity: errors are problems that corrupt training or evaluation (unreadable annotation or image,
// label without image, box out of bounds or degenerate, size mismatch, the same image in two splits);
// the rest are warnings. Every image is decoded once (2 cores: ~5 ms per 640x480 JPEG).
//
// Failure modes: the load errors of load_dataset(); everything else is in the report.
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "dataset/dataset.h"
#include "dataset/image_hash.h"

namespace visearch::dataset {

struct CheckOptions {
  double tiny_pixels = 8.0;     // a box side below this is tiny
  double tiny_fraction = 0.01;  // ... or below this fraction of the image side
  int near_duplicate_distance = kDefaultNearDuplicateDistance;  // < 0 disables near-duplicate search
  double imbalance_warning_ratio = 10.0;  // most / least frequent class (among used classes)
};

struct SplitCounts {
  std::string name;
  std::size_t images = 0;
  std::size_t unlabelled = 0;
  std::size_t boxes = 0;
  std::vector<std::size_t> per_class;
};

struct CheckReport {
  std::string path;
  DatasetFormat format = DatasetFormat::kAuto;
  std::vector<std::string> classes;
  std::vector<SplitCounts> splits;
  std::vector<std::size_t> per_class;  // all splits
  std::size_t images = 0;
  std::size_t boxes = 0;
  std::vector<std::string> images_without_labels;
  std::vector<std::string> labels_without_images;
  std::vector<std::string> unreadable_images;
  std::size_t boxes_out_of_bounds = 0;
  std::size_t degenerate_boxes = 0;
  std::size_t tiny_boxes = 0;
  std::size_t duplicate_boxes = 0;
  std::vector<std::vector<std::string>> exact_duplicates;  // groups of image paths
  struct NearDuplicate {
    std::string a;
    std::string b;
    int distance = 0;
  };
  std::vector<NearDuplicate> near_duplicates;
  double imbalance_ratio = 0;  // 0 when fewer than two classes are used
  std::vector<std::string> unused_classes;
  Diagnostics diagnostics;  // reader problems and findings, each with file (and line where known)

  [[nodiscard]] std::size_t errors() const { return count_errors(diagnostics); }
  [[nodiscard]] std::size_t warnings() const { return count_warnings(diagnostics); }
};

// Loads a data set and fingerprints every image that exists, decoding each image only once (the YOLO
// reader's size probe reuses the same decode). prints[i] belongs to images[i]; not ok when unreadable.
Result<Dataset> load_with_fingerprints(const std::string& path, const LoadOptions& load,
                                       std::vector<ImageFingerprint>& prints);

Result<CheckReport> check_dataset(const std::string& path, const LoadOptions& load,
                                  const CheckOptions& options);

nlohmann::json to_json(const CheckReport& report);
// Human-readable summary; diagnostics beyond max_listed are counted, not listed.
std::string to_text(const CheckReport& report, std::size_t max_listed = 50);

}  // namespace visearch::dataset
