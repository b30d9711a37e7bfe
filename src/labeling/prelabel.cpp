#include "labeling/prelabel.h"

#include <algorithm>
#include <cmath>

#include "families/all_families.h"
#include "io/image_decode.h"
#include "labeling/box_payload.h"

namespace visearch::labeling {
namespace {

constexpr std::uint64_t kMaxImageBytes = std::uint64_t{256} << 20U;

double round2(double v) {
  return std::round(v * 100.0) / 100.0;
}

}  // namespace

Result<PrelabelResult> propose(const Detector& detector, const Image& image, const LabelMapping& mapping,
                               const PrelabelOptions& options) {
  DetectOptions detect;
  detect.score_threshold = options.score_floor;
  detect.max_detections = options.max_detections;
  auto output = detector.detect(image, detect);
  if (!output) return output.error();
  const std::vector<std::string>& labels = detector.spec().labels;
  PrelabelResult result;
  result.image = Size{image.width, image.height};
  std::vector<Proposal> candidates;
  for (const Detection& d : output->detections) {
    const int cls = mapping.to_class(d.class_id);
    if (cls < 0) {
      ++result.unmapped;
      continue;
    }
    Proposal p;
    p.box.class_id = cls;
    p.box.x1 = std::clamp(round2(static_cast<double>(d.box.x1)), 0.0, static_cast<double>(image.width));
    p.box.y1 = std::clamp(round2(static_cast<double>(d.box.y1)), 0.0, static_cast<double>(image.height));
    p.box.x2 = std::clamp(round2(static_cast<double>(d.box.x2)), 0.0, static_cast<double>(image.width));
    p.box.y2 = std::clamp(round2(static_cast<double>(d.box.y2)), 0.0, static_cast<double>(image.height));
    if (p.box.width() < kMinBoxSide || p.box.height() < kMinBoxSide) continue;
    p.score = std::round(d.score * 10000.F) / 10000.F;
    p.detector_label = d.class_id >= 0 && static_cast<std::size_t>(d.class_id) < labels.size()
                           ? labels[static_cast<std::size_t>(d.class_id)]
                           : std::to_string(d.class_id);
    candidates.push_back(std::move(p));
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Proposal& a, const Proposal& b) { return a.score > b.score; });
  for (Proposal& c : candidates) {
    const bool duplicate =
        std::any_of(result.proposals.begin(), result.proposals.end(), [&](const Proposal& kept) {
          return kept.box.class_id == c.box.class_id && box_iou(kept.box, c.box) > kMergeIou;
        });
    if (!duplicate) result.proposals.push_back(std::move(c));
  }
  return result;
}

Result<std::unique_ptr<Detector>> load_detector(const std::string& model,
                                                const std::vector<std::string>& model_dirs, int threads) {
  const ModelRepository repository = ModelRepository::with_defaults(model_dirs);
  auto spec = repository.find_spec(model);
  if (!spec) return spec.error();
  FamilyRegistry families;
  register_all_families(families);
  RuntimeOptions runtime;
  runtime.intra_op_threads = threads;
  runtime.allow_spinning = false;
  return Detector::load(*spec, repository, families, runtime);
}

Result<PrelabelResult> propose_file(const Detector& detector, const std::string& path,
                                    const LabelMapping& mapping, const PrelabelOptions& options) {
  auto bytes = read_file_bytes(path, kMaxImageBytes, FileKind::kRegularOnly);
  if (!bytes) return bytes.error();
  auto decoded = decode_image(*bytes, DecodeLimits{});
  if (!decoded) return Error{decoded.error().code, path + ": " + decoded.error().message};
  return propose(detector, decoded->image, mapping, options);
}

}  // namespace visearch::labeling
