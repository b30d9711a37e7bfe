// The image side of visual search: which objects of an image are searched for (shopper photos) or indexed
// (product photos), each with the embedding of its crop.
//
//   product photo  analyze_product_image(): the main object(s) found by the detector (large and confident),
//                  or the whole image when none is; each embedded.
//   shopper photo  analyze_query_image(): every detected object (or one region given by the caller),
//                  or the whole image when nothing is detected; each embedded.
//
// Boxes are in pixels of the upright image. Failure modes: errors from the detector or embedder
// (kInference), kInvalidArgument for a region outside the image. Thread-safety: pure functions over const
// models (Detector and Embedder allow concurrent calls). Cost: one detector pass (two with a region that
// no detection overlaps) plus one embedder pass per object.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "core/image.h"
#include "core/result.h"
#include "model/detector.h"
#include "model/embedder.h"
#include "search/product.h"

namespace visearch::search {

struct ProductAnalysisOptions {
  float min_score = 0.4F;          // detections below are ignored
  float min_area_fraction = 0.1F;  // a main object covers at least this share of the image
  int max_objects = 2;
};

// Main objects of a product image (image_n is copied into each object).
Result<std::vector<IndexedObject>> analyze_product_image(const Image& image, int image_n,
                                                         const Detector& detector, const Embedder& embedder,
                                                         const ProductAnalysisOptions& options = {});

struct QueryObject {
  std::string label;  // detector label; empty when unknown (whole image, or a region nothing matched)
  float score = 0.F;  // detector score of the label
  ImageBox box;
  bool whole_image = false;  // nothing was detected: the whole image stands for the object
  std::vector<float> embedding;
  ColourProfile colour{};  // of the box's central region (search/colour.h); all 0 when unknown
};

// A region the shopper marked is labelled from detections down to this score, lower than `detect`'s own
// threshold: the shopper says there is an object there, so a doubtful label is better than none (the
// label brings the catalog's categories and words into the ranking). Chosen with
// bench/search_retrieval.sh (docs/search.md, "Labelling a marked region"): at 0.15 the label-only
// precision@5 of region queries rose from 0.729 to 0.831; at 0.08 it fell back to 0.792 (wrong labels).
// Objects proposed on a whole photo keep the detector's threshold: below it, the shopper page filled with
// doubtful objects that matched products on their label alone.
inline constexpr float kRegionLabelThreshold = 0.15F;

// The detection that labels a marked region: among those overlapping it with IoU >= 0.5, the one with the
// largest score x IoU (null when none overlaps that much). Down at kRegionLabelThreshold an object often
// carries weak boxes of other classes too (a "person" box on a chair, a "bowl" on a table); the best IoU
// alone let such a box win by fitting the region a little better than the confident one. Chosen with
// bench/search_retrieval.sh (docs/search.md): label precision@5 0.824 (best IoU) -> 0.850 (score x IoU);
// score x IoU^2 and sqrt(score) x IoU gave 0.845, the best score alone 0.829.
const Detection* region_detection(const std::vector<Detection>& detections, const ImageBox& region);

struct QueryAnalysisOptions {
  DetectOptions detect;  // thresholds, classes (defaults: the detector's spec)
  // With `region`, when detect.score_threshold is unset (unset here too: the spec's threshold).
  std::optional<float> region_label_threshold = kRegionLabelThreshold;
  std::optional<ImageBox> region;  // search this region only
  int max_objects = 10;
  float min_side_px = 8.F;  // smaller detections are not searched
};

struct QueryAnalysis {
  std::vector<QueryObject> objects;
  double detect_ms = 0;
  double embed_ms = 0;
};

Result<QueryAnalysis> analyze_query_image(const Image& image, const Detector& detector,
                                          const Embedder& embedder, const QueryAnalysisOptions& options);

}  // namespace visearch::search
