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
  std::size_t passes = 1;             // images run through the model: 1, or 1 + the tiles of the TilePlan
  std::size_t forwards = 1;           // forward passes: one per pass, or one per batch of passes
};

// The most passes one batched forward pass takes from a graph with a dynamic batch dimension, and the
// most input tensor bytes it may hold (activations grow with the batch too). A graph with a fixed batch
// of N > 1 takes N per forward pass, padded with blank images.
inline constexpr std::size_t kMaxBatch = 8;
inline constexpr std::size_t kMaxBatchBytes = std::size_t{64} << 20;

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
  // The passes one forward pass may take, from the graph's declared input shape and the spec's
  // input.max_batch: 1 for a fixed batch of 1 or a layout without a batch axis (chw).
  [[nodiscard]] std::size_t max_batch() const { return max_batch_; }
  // Forward passes run on this model's session since it was loaded (all threads together).
  [[nodiscard]] std::uint64_t session_runs() const { return session_->runs(); }
  // The bare forward pass on an already prepared tensor (benchmarks): a float NCHW tensor of the spec's
  // fixed size, or any PreparedInput from preprocess_image() (the shape and type it carries).
  [[nodiscard]] Result<std::vector<Tensor>> forward(const std::vector<float>& tensor) const;
  [[nodiscard]] Result<std::vector<Tensor>> forward(const PreparedInput& input) const;

  // Validates options against the spec (thresholds in range, class ids known).
  [[nodiscard]] Status validate(const DetectOptions& options) const;

 private:
  Detector(ModelSpec spec, std::unique_ptr<InferenceSession> session, std::unique_ptr<Decoder> decoder);
  struct Pass;
  // The input tensor of `pixels`, a crop of a `frame`-sized image cut at (crop_x, crop_y) (the whole
  // image: 0, 0 and its own size); its transform maps to the frame's pixels.
  [[nodiscard]] PreparedInput prepare(const Image& pixels, int crop_x, int crop_y, Size frame) const;
  // One forward pass on the prepared passes (one, or a batch of one tensor shape), then each pass's
  // decode, class filter, NMS and mapping to the frame's pixels.
  [[nodiscard]] Status run_passes(std::vector<Pass>& batch, const DetectOptions& options,
                                  StageTiming& timing) const;
  [[nodiscard]] Result<std::vector<Detection>> postprocess(const std::vector<Tensor>& outputs,
                                                           const InputTransform& transform,
                                                           const DetectOptions& options) const;

  ModelSpec spec_;
  std::unique_ptr<InferenceSession> session_;
  std::unique_ptr<Decoder> decoder_;
  std::string weights_path_;
  double load_ms_ = 0;
  std::size_t max_batch_ = 1;
  bool fixed_batch_ = false;  // the graph takes exactly max_batch_ images per forward pass
};

// "cup,person" or "41,0" -> class ids; kInvalidArgument naming the unknown label.
Result<std::vector<int>> parse_class_list(const ModelSpec& spec, std::string_view text);

}  // namespace visearch
