// libFuzzer target for the COCO JSON parser and the COCO evaluator: any input yields a document or an
// error with a message; accepted boxes are finite with non-negative size; the parsed document, scored
// as ground truth against itself as detections, gives metrics in [-1, 1].
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dataset/coco.h"
#include "eval/coco_eval.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = visearch::dataset::parse_coco_json(text, "fuzz.json");
  if (!doc) {
    if (doc.error().message.empty()) std::abort();
    return 0;
  }
  visearch::eval::EvalInput input;
  for (const auto& image : doc->images) input.image_ids.push_back(image.id);
  for (const auto& c : doc->categories) input.categories.push_back({c.id, c.name});
  for (const auto& a : doc->annotations) {
    if (!std::isfinite(a.x) || !std::isfinite(a.y) || !(a.w >= 0) || !(a.h >= 0)) std::abort();
    if (a.area && !(*a.area >= 0)) std::abort();
    if (doc->is_results_list) input.image_ids.push_back(a.image_id);
    visearch::eval::GroundTruthBox g{
        a.id.value_or(0),           a.image_id, a.category_id, a.x, a.y, a.w, a.h,
        a.area.value_or(a.w * a.h), a.iscrowd,  false};
    input.ground_truth.push_back(g);
    input.detections.push_back({a.image_id, a.category_id, a.x, a.y, a.w, a.h, a.score.value_or(0.5)});
  }
  if (input.detections.size() > 2000) return 0;  // keep each run fast
  auto metrics = visearch::eval::evaluate_bbox(input);
  if (metrics) {
    for (double s : metrics->stats) {
      if (!(s >= -1.0 && s <= 1.0 + 1e-9)) std::abort();
    }
  }
  (void)visearch::dataset::dump_coco_json(nlohmann::json::array());
  return 0;
}
