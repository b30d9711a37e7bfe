// DetectService: transport-free detection on encoded image bytes. The CLI and
// the HTTP server both call this, so both produce the same object for the same
// image and parameters.
//
// Thread-safety: detect() may be called concurrently; the Detectors it holds
// are immutable after construction. Ownership: the service shares its detectors (a server that loads or
// unloads a model builds a new service from the old one's detectors plus or minus one).
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "io/image_decode.h"
#include "model/detector.h"

namespace visearch {

struct DetectRequest {
  std::string model;  // empty = the service's default model
  DetectOptions options;
};

struct DetectResponse {
  std::string model;
  Size image;    // upright original size (boxes are in these pixels)
  Size decoded;  // the pixels the model saw: smaller than `image` when a big JPEG was decoded shrunk
  std::vector<Detection> detections;
  double decode_ms = 0;
  StageTiming timing;
  std::size_t tiles = 0;  // tiles run besides the whole image (DetectOptions::tile); 0 = not tiled
  // The model's spec; shares ownership of its detector, so it stays valid after the model is unloaded.
  std::shared_ptr<const ModelSpec> spec;
};

class DetectService {
 public:
  using Detectors = std::map<std::string, std::shared_ptr<const Detector>>;
  DetectService(Detectors detectors, std::string default_model, DecodeLimits limits);
  DetectService(std::map<std::string, std::unique_ptr<Detector>> detectors, std::string default_model,
                DecodeLimits limits);

  [[nodiscard]] const std::string& default_model() const { return default_model_; }
  [[nodiscard]] const Detector* find(const std::string& name) const;
  [[nodiscard]] std::shared_ptr<const Detector> find_shared(const std::string& name) const;
  [[nodiscard]] std::vector<const Detector*> detectors() const;
  [[nodiscard]] const Detectors& shared_detectors() const { return detectors_; }
  [[nodiscard]] const DecodeLimits& limits() const { return limits_; }

  // Decodes (EXIF orientation applied, pixel limit enforced) then detects.
  // When `decoded_out` is given it receives the upright image.
  [[nodiscard]] Result<DetectResponse> detect(std::span<const std::uint8_t> encoded,
                                              const DetectRequest& request,
                                              Image* decoded_out = nullptr) const;
  [[nodiscard]] Result<DetectResponse> detect_image(const Image& image, const DetectRequest& request) const;

 private:
  [[nodiscard]] Error unknown_model(const std::string& name) const;

  Detectors detectors_;
  std::string default_model_;
  DecodeLimits limits_;
};

// The detection object documented in README ("Detection JSON"): source, model,
// image {width, height}, objects [{label, class_id, score, box{x1,y1,x2,y2}}], timing_ms, and "tiles"
// (the number of tiles run besides the whole image) when the image was tiled.
nlohmann::json detection_to_json(const DetectResponse& response, const std::string& source);

// Model metadata for `visearch models` and GET /v1/models.
nlohmann::json model_to_json(const ModelSpec& spec);

}  // namespace visearch
