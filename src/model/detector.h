// Detector: one loaded detection model. preprocess -> forward -> family decode
// -> class filter -> NMS (or, for end-to-end layouts, the top max_detections by
// score) -> map to original-image pixels (clipped).
//
//   FamilyRegistry families; register_all_families(families);
//   auto repo = ModelRepository::with_defaults({});
//   auto det = Detector::load(*repo.find_spec("picodet_s_416"), repo, families, {});
//   auto out = (*det)->detect(image, DetectOptions{});
//
// Thread-safety: detect() is const and may run concurrently on one Detector.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/detection.h"
#include "core/image.h"
#include "model/family_registry.h"
#include "model/model_repository.h"
#include "model/model_spec.h"
#include "model/preprocess.h"
#include "model/tiling.h"
#include "runtime/inference_session.h"

namespace visearch {

struct DetectOptions {
  std::optional<float> score_threshold;  // default: spec
  std::optional<float> iou_threshold;    // default: spec
  std::optional<int> max_detections;     // default: spec
  std::vector<int> classes;              // keep only these class ids; empty = all
  bool agnostic_nms = false;
  TileOptions tile;  // off by default: one pass on the whole image (model/tiling.h)
};

struct StageTiming {
  double preprocess_ms = 0;
  double inference_ms = 0;
  double postprocess_ms = 0;
};

struct DetectOutput {
  std::vector<Detection> detections;  // sorted by descending score
  StageTiming timing;                 // summed over the passes when tiled
  std::size_t passes = 1;             // forward passes run: 1, or 1 + the tiles of the TilePlan
};

class Detector {
 public:
  static Result<std::unique_ptr<Detector>> load(const ModelSpec& spec, const ModelRepository& repository,
                                                const FamilyRegistry& families,
                                                const RuntimeOptions& runtime);

  [[nodiscard]] const ModelSpec& spec() const { return spec_; }
  [[nodiscard]] const std::string& weights_path() const { return weights_path_; }
  [[nodiscard]] double load_ms() const { return load_ms_; }

  // With options.tile on, runs the whole image and each tile of plan() and merges them (merge_tiled()).
  [[nodiscard]] Result<DetectOutput> detect(const Image& image, const DetectOptions& options) const;
  // The tiles detect() runs for an image of this size.
  [[nodiscard]] TilePlan plan(Size image, const TileOptions& tile) const;
  // The bare forward pass on an already prepared tensor (benchmarks): a float NCHW tensor of the spec's
  // fixed size, or any PreparedInput from preprocess_image() (the shape and type it carries).
  [[nodiscard]] Result<std::vector<Tensor>> forward(const std::vector<float>& tensor) const;
  [[nodiscard]] Result<std::vector<Tensor>> forward(const PreparedInput& input) const;

  // Validates options against the spec (thresholds in range, class ids known).
  [[nodiscard]] Status validate(const DetectOptions& options) const;

 private:
  Detector(ModelSpec spec, std::unique_ptr<InferenceSession> session, std::unique_ptr<Decoder> decoder);
  // One forward pass on `pixels`, a crop of a `frame`-sized image cut at (crop_x, crop_y) (the whole
  // image: 0, 0 and its own size); boxes in the frame's pixels.
  [[nodiscard]] Result<DetectOutput> detect_pass(const Image& pixels, int crop_x, int crop_y, Size frame,
                                                 const DetectOptions& options) const;

  ModelSpec spec_;
  std::unique_ptr<InferenceSession> session_;
  std::unique_ptr<Decoder> decoder_;
  std::string weights_path_;
  double load_ms_ = 0;
};

// "cup,person" or "41,0" -> class ids; kInvalidArgument naming the unknown label.
Result<std::vector<int>> parse_class_list(const ModelSpec& spec, std::string_view text);

}  // namespace visearch
