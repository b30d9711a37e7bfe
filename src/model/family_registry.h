// FamilyRegistry: family name -> decoder factory. Families register in one
// list (families/all_families.cpp); a spec names its family explicitly and the
// registry never guesses it from the graph.
//
// A Decoder turns the raw output tensors of one forward pass into candidates in
// model-input pixels (InputBox); NMS and the mapping back to the image are done
// once, generically, by Detector.
//
// Thread-safety: decode() is const and called concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/detection.h"
#include "core/result.h"
#include "model/model_repository.h"
#include "model/model_spec.h"
#include "runtime/inference_session.h"

namespace visearch {

// What one forward pass's decode needs besides the outputs.
struct DecodeParams {
  float score_threshold = 0.F;
  // The input tensor's width x height for this pass: the spec's size, or the image's resized size for a
  // keep_aspect spec (a dynamic input shape). Normalised outputs are scaled by it into input pixels.
  Size input_size;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  Decoder() = default;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  Decoder(Decoder&&) = delete;
  Decoder& operator=(Decoder&&) = delete;

  // Candidates with score >= params.score_threshold (best class per location unless
  // the family says otherwise). kInference when the tensors do not have the
  // layout the spec promises.
  [[nodiscard]] virtual Result<std::vector<Candidate>> decode(const std::vector<Tensor>& outputs,
                                                              const DecodeParams& params) const = 0;
  // False for end-to-end layouts whose boxes are already final (NMS inside the graph, or a set
  // prediction such as DETR's): the Detector then keeps the best max_detections by score, without NMS.
  [[nodiscard]] virtual bool needs_nms() const { return true; }
};

struct DecoderContext {
  const ModelSpec& spec;
  const ModelRepository& repository;  // to resolve extra files (anchors)
};

using DecoderFactory = std::function<Result<std::unique_ptr<Decoder>>(const DecoderContext&)>;

class FamilyRegistry {
 public:
  void add(const std::string& family, DecoderFactory factory);
  [[nodiscard]] Result<std::unique_ptr<Decoder>> create(const DecoderContext& context) const;
  [[nodiscard]] std::vector<std::string> families() const;

 private:
  std::map<std::string, DecoderFactory> factories_;
};

// Helpers for decoders: find an output by name, or the first whose shape matches.
const Tensor* find_output(const std::vector<Tensor>& outputs, const std::string& name);
const Tensor* find_output_by_shape(const std::vector<Tensor>& outputs,
                                   const std::vector<std::int64_t>& shape);
std::string describe_outputs(const std::vector<Tensor>& outputs);

// Item `item` of the outputs of a forward pass on a batch of `batch` images: every output's first
// dimension must be `batch`, and comes back as 1, so a decoder reads the item as a pass of its own.
// kInference naming the output otherwise (a graph whose declared batch dimension does not batch).
Result<std::vector<Tensor>> batch_item(const std::vector<Tensor>& outputs, std::size_t item,
                                       std::size_t batch);

}  // namespace visearch
