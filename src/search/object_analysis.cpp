#include "search/object_analysis.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace visearch::search {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

ImageBox whole(const Image& image) {
  return ImageBox{0.F, 0.F, static_cast<float>(image.width), static_cast<float>(image.height)};
}

const std::string& label_of(const Detector& detector, int class_id) {
  static const std::string unknown;
  const auto& labels = detector.spec().labels;
  return class_id >= 0 && static_cast<std::size_t>(class_id) < labels.size()
             ? labels[static_cast<std::size_t>(class_id)]
             : unknown;
}

// The label of a region: the region_detection() of the whole image's detections, else the dominant
// detection inside the cropped region (covering >= 30 % of it), else none.
Result<std::pair<std::string, float>> label_region(const Image& image, const ImageBox& region,
                                                   const std::vector<Detection>& detections,
                                                   const Detector& detector, const DetectOptions& detect) {
  const Detection* best = region_detection(detections, region);
  if (best != nullptr) return std::make_pair(label_of(detector, best->class_id), best->score);
  auto crop = crop_image(image, region);
  if (!crop) return crop.error();
  auto inside = detector.detect(*crop, detect);
  if (!inside) return inside.error();
  const float crop_area = static_cast<float>(crop->width) * static_cast<float>(crop->height);
  for (const Detection& d : inside->detections) {  // sorted by score
    if (d.box.area() >= 0.3F * crop_area) return std::make_pair(label_of(detector, d.class_id), d.score);
  }
  return std::make_pair(std::string(), 0.F);
}

}  // namespace

const Detection* region_detection(const std::vector<Detection>& detections, const ImageBox& region) {
  const Detection* best = nullptr;
  float best_key = 0.F;
  for (const Detection& d : detections) {
    const float overlap = iou(d.box, region);
    if (overlap < 0.5F) continue;
    const float key = d.score * overlap;
    if (key > best_key) {
      best_key = key;
      best = &d;
    }
  }
  return best;
}

Result<std::vector<IndexedObject>> analyze_product_image(const Image& image, int image_n,
                                                         const Detector& detector, const Embedder& embedder,
                                                         const ProductAnalysisOptions& options) {
  DetectOptions detect;
  detect.score_threshold = std::min(options.min_score, detector.spec().defaults.score_threshold);
  auto found = detector.detect(image, detect);
  if (!found) return found.error();
  const float image_area = static_cast<float>(image.width) * static_cast<float>(image.height);
  std::vector<std::pair<float, const Detection*>> ranked;
  for (const Detection& d : found->detections) {
    const float fraction = d.box.area() / image_area;
    if (d.score < options.min_score || fraction < options.min_area_fraction) continue;
    ranked.emplace_back(d.score * std::sqrt(fraction), &d);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  if (ranked.size() > static_cast<std::size_t>(std::max(options.max_objects, 1))) {
    ranked.resize(static_cast<std::size_t>(std::max(options.max_objects, 1)));
  }
  std::vector<IndexedObject> objects;
  for (const auto& [rank, d] : ranked) {
    IndexedObject object;
    object.image_n = image_n;
    object.label = label_of(detector, d->class_id);
    object.score = d->score;
    object.box = d->box;
    auto embedding = embedder.embed_region(image, d->box);
    if (!embedding) continue;  // a sliver under 2 px: not a main object after all
    object.embedding = std::move(*embedding);
    object.colour = colour_profile(image, object.box);
    objects.push_back(std::move(object));
  }
  if (objects.empty()) {
    IndexedObject object;
    object.image_n = image_n;
    object.box = whole(image);
    auto embedding = embedder.embed(image);
    if (!embedding) return embedding.error();
    object.embedding = std::move(*embedding);
    object.colour = colour_profile(image, object.box);
    objects.push_back(std::move(object));
  }
  return objects;
}

Result<QueryAnalysis> analyze_query_image(const Image& image, const Detector& detector,
                                          const Embedder& embedder, const QueryAnalysisOptions& options) {
  QueryAnalysis analysis;
  if (image.empty()) return Unexpected{ErrorCode::kInvalidArgument, "empty image"};
  DetectOptions detect = options.detect;
  if (options.region && !detect.score_threshold && options.region_label_threshold)
    detect.score_threshold =
        std::min(*options.region_label_threshold, detector.spec().defaults.score_threshold);
  VISEARCH_TRY(detector.validate(detect));
  auto start = Clock::now();
  auto found = detector.detect(image, detect);
  if (!found) return found.error();
  if (options.region) {
    const ImageBox region =
        options.region->clipped(static_cast<float>(image.width), static_cast<float>(image.height));
    if (region.width() < 2.F || region.height() < 2.F) {
      return Unexpected{ErrorCode::kInvalidArgument, "box lies outside the " + std::to_string(image.width) +
                                                         "x" + std::to_string(image.height) +
                                                         " image or is under 2 px"};
    }
    auto label = label_region(image, region, found->detections, detector, detect);
    if (!label) return label.error();
    analysis.detect_ms = ms_since(start);
    start = Clock::now();
    auto embedding = embedder.embed_region(image, region);
    if (!embedding) return embedding.error();
    analysis.objects.push_back(QueryObject{label->first, label->second, region, false, std::move(*embedding),
                                           colour_profile(image, region)});
    analysis.embed_ms = ms_since(start);
    return analysis;
  }
  analysis.detect_ms = ms_since(start);
  start = Clock::now();
  for (const Detection& d : found->detections) {
    if (static_cast<int>(analysis.objects.size()) >= options.max_objects) break;
    if (d.box.width() < options.min_side_px || d.box.height() < options.min_side_px) continue;
    auto embedding = embedder.embed_region(image, d.box);
    if (!embedding) return embedding.error();
    analysis.objects.push_back(QueryObject{label_of(detector, d.class_id), d.score, d.box, false,
                                           std::move(*embedding), colour_profile(image, d.box)});
  }
  if (analysis.objects.empty()) {
    auto embedding = embedder.embed(image);
    if (!embedding) return embedding.error();
    analysis.objects.push_back(
        QueryObject{"", 0.F, whole(image), true, std::move(*embedding), colour_profile(image, whole(image))});
  }
  analysis.embed_ms = ms_since(start);
  return analysis;
}

}  // namespace visearch::search
