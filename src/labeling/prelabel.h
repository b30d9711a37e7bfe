// Pre-labelling: runs a detector on an upright image and turns its detections into proposals in the data
// set's classes (label_map.h). Detections whose label is not mapped are dropped; when several detector
// labels map to one class, overlapping proposals of that class (IoU > kMergeIou) are merged, keeping the
// highest score. Proposals are sorted by descending score; coordinates are rounded to 0.01 px and clipped
// to the image; boxes under kMinBoxSide are dropped.
//
// Failure modes: the decode errors of io::decode_image (kCorruptImage, kUnsupportedFormat, ...) and the
// detector's (kInference). Thread-safety: reentrant (Detector::detect is const and thread-safe).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/result.h"
#include "labeling/label_map.h"
#include "labeling/label_types.h"
#include "model/detector.h"

namespace visearch::labeling {

inline constexpr float kDefaultScoreFloor = 0.1F;  // lowest score a proposal may have (the slider's minimum)
inline constexpr double kMergeIou = 0.7;

struct PrelabelOptions {
  float score_floor = kDefaultScoreFloor;
  int max_detections = 100;
};

struct PrelabelResult {
  std::vector<Proposal> proposals;
  std::size_t unmapped = 0;  // detections above the floor whose label maps to no class
  Size image;
};

Result<PrelabelResult> propose(const Detector& detector, const Image& image, const LabelMapping& mapping,
                               const PrelabelOptions& options = {});

// Loads a detector by model name (or spec path) from the default repository plus `model_dirs`, with
// `threads` intra-op threads and no spinning (benchmarks, the background job).
Result<std::unique_ptr<Detector>> load_detector(const std::string& model,
                                                const std::vector<std::string>& model_dirs, int threads = 1);

// Reads and decodes the file (EXIF orientation applied), then propose().
Result<PrelabelResult> propose_file(const Detector& detector, const std::string& path,
                                    const LabelMapping& mapping, const PrelabelOptions& options = {});

}  // namespace visearch::labeling
