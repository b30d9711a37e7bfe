// Embedder: one loaded image-embedding model (a spec with "task": "embed"). It turns an image, or a region
// of one, into a fixed-length float vector, L2-normalised so that the dot product of two embeddings is
// their cosine similarity.
//
//   auto repo = ModelRepository::with_defaults({});
//   auto embedder = Embedder::load(*repo.find_spec("mobilenetv2_embed"), repo, {});
//   auto vec = (*embedder)->embed_region(image, detection.box);   // 1280 floats, |vec| = 1
//
// The spec's "decoder" object names the graph output and its size:
//   "decoder": {"output": "embedding", "dimension": 1280, "normalize": "l2" | "none"}
// Pre-processing is the spec's PreprocessSpec (resize, mean/std, channel order) applied to the image or
// crop, exactly as for detectors.
//
// Failure modes: load() -> kInvalidSpec (not an embed spec, bad decoder fields, output missing from the
// graph), kModelMissing / kChecksumMismatch (weights), kInference (runtime). embed*() -> kInvalidArgument
// (empty image, a region outside the image or under 2 px), kInference (runtime failure, output size).
// Thread-safety: embed*() are const and may run concurrently on one Embedder (the session is thread-safe);
// servers still load one per inference worker so each worker owns its session. Ownership: owns its session.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "core/image.h"
#include "core/result.h"
#include "model/model_repository.h"
#include "model/model_spec.h"
#include "runtime/inference_session.h"

namespace visearch {

class Embedder {
 public:
  static Result<std::unique_ptr<Embedder>> load(const ModelSpec& spec, const ModelRepository& repository,
                                                const RuntimeOptions& runtime);

  [[nodiscard]] const ModelSpec& spec() const { return spec_; }
  [[nodiscard]] int dimension() const { return dimension_; }
  [[nodiscard]] double load_ms() const { return load_ms_; }

  // The whole image.
  [[nodiscard]] Result<std::vector<float>> embed(const Image& image) const;
  // The region `box` (original-image pixels; clipped to the image) cropped out, then embedded.
  [[nodiscard]] Result<std::vector<float>> embed_region(const Image& image, const ImageBox& box) const;

 private:
  Embedder(ModelSpec spec, std::unique_ptr<InferenceSession> session, std::string output, int dimension,
           bool normalize)
      : spec_(std::move(spec)),
        session_(std::move(session)),
        output_(std::move(output)),
        dimension_(dimension),
        normalize_(normalize) {}

  ModelSpec spec_;
  std::unique_ptr<InferenceSession> session_;
  std::string output_;
  int dimension_ = 0;
  bool normalize_ = true;
  double load_ms_ = 0;
};

// Copies the pixels of `box` (clipped to the image, rounded outwards to whole pixels) into a new image.
// kInvalidArgument when the clipped region is under 2 px on a side.
Result<Image> crop_image(const Image& image, const ImageBox& box);

// Scales `v` to unit L2 norm in place; leaves an all-zero vector unchanged.
void l2_normalize(std::vector<float>& v);

}  // namespace visearch
