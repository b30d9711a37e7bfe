#include "service/detect_service.h"

#include <chrono>
#include <cmath>

namespace visearch {
namespace {

// Rounds to `decimals` places so the JSON shows 192.73, not 192.73000000000002.
double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

}  // namespace

DetectService::DetectService(Detectors detectors, std::string default_model, DecodeLimits limits)
    : detectors_(std::move(detectors)), default_model_(std::move(default_model)), limits_(limits) {}

DetectService::DetectService(std::map<std::string, std::unique_ptr<Detector>> detectors,
                             std::string default_model, DecodeLimits limits)
    : default_model_(std::move(default_model)), limits_(limits) {
  for (auto& [name, detector] : detectors) detectors_.emplace(name, std::move(detector));
}

const Detector* DetectService::find(const std::string& name) const {
  return find_shared(name).get();
}

std::shared_ptr<const Detector> DetectService::find_shared(const std::string& name) const {
  auto it = detectors_.find(name.empty() ? default_model_ : name);
  return it == detectors_.end() ? nullptr : it->second;
}

std::vector<const Detector*> DetectService::detectors() const {
  std::vector<const Detector*> out;
  for (const auto& [name, det] : detectors_) out.push_back(det.get());
  return out;
}

Error DetectService::unknown_model(const std::string& name) const {
  std::string known;
  for (const auto& [loaded, det] : detectors_) known += (known.empty() ? "" : ", ") + loaded;
  return Error{ErrorCode::kNotFound, "model '" + name + "' is not loaded (loaded: " + known + ")"};
}

Result<DetectResponse> DetectService::detect_image(const Image& image, const DetectRequest& request) const {
  const std::shared_ptr<const Detector> detector = find_shared(request.model);
  if (detector == nullptr) return unknown_model(request.model);
  auto output = detector->detect(image, request.options);
  if (!output) return output.error();
  DetectResponse response;
  response.model = detector->spec().name;
  response.spec = std::shared_ptr<const ModelSpec>(detector, &detector->spec());
  response.image = Size{image.width, image.height};
  response.decoded = response.image;
  response.detections = std::move(output->detections);
  response.timing = output->timing;
  response.tiles = output->passes - 1;
  return response;
}

Result<DetectResponse> DetectService::detect(std::span<const std::uint8_t> encoded,
                                             const DetectRequest& request, Image* decoded_out) const {
  const Detector* detector = find(request.model);
  if (detector == nullptr) return unknown_model(request.model);
  const auto start = std::chrono::steady_clock::now();
  DecodeLimits limits = limits_;
  // Tiling wants the full resolution (small objects are the point), so it turns the shrink off.
  if (decoded_out == nullptr && detector->spec().preprocess.decode_shrink_headroom >= 1.F &&
      request.options.tile.mode == TileMode::kOff) {
    // Only the model sees the pixels: a big JPEG may be decoded at a reduced scale that still covers the
    // model's input (a 12-megapixel photo for a 416x416 input decodes at 1/4 or 1/8).
    limits.shrink_target = detector->spec().preprocess.size;
    limits.shrink_keep_aspect = detector->spec().preprocess.resize != ResizeMode::kStretch;
    limits.shrink_headroom = detector->spec().preprocess.decode_shrink_headroom;
  }
  auto decoded = decode_image(encoded, limits);
  if (!decoded) return decoded.error();
  const double decode_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  auto response = detect_image(decoded->image, request);
  if (!response) return response;
  response->decode_ms = decode_ms;
  if (decoded->shrunk()) {
    // Boxes and the image size are reported in full-resolution pixels.
    const Size from{decoded->image.width, decoded->image.height};
    for (Detection& d : response->detections) d.box = rescale(d.box, from, decoded->full_size);
    response->image = decoded->full_size;
  }
  if (decoded_out != nullptr) *decoded_out = std::move(decoded->image);
  return response;
}

nlohmann::json detection_to_json(const DetectResponse& response, const std::string& source) {
  nlohmann::json objects = nlohmann::json::array();
  for (const Detection& d : response.detections) {
    const std::string label = response.spec != nullptr && d.class_id >= 0 &&
                                      d.class_id < static_cast<int>(response.spec->labels.size())
                                  ? response.spec->labels[static_cast<std::size_t>(d.class_id)]
                                  : std::to_string(d.class_id);
    objects.push_back({{"label", label},
                       {"class_id", d.class_id},
                       {"score", round_to(static_cast<double>(d.score), 4)},
                       {"box",
                        {{"x1", round_to(static_cast<double>(d.box.x1), 2)},
                         {"y1", round_to(static_cast<double>(d.box.y1), 2)},
                         {"x2", round_to(static_cast<double>(d.box.x2), 2)},
                         {"y2", round_to(static_cast<double>(d.box.y2), 2)}}}});
  }
  nlohmann::json out{{"source", source},
                     {"model", response.model},
                     {"image", {{"width", response.image.width}, {"height", response.image.height}}},
                     {"objects", std::move(objects)},
                     {"timing_ms",
                      {{"decode", round_to(response.decode_ms, 3)},
                       {"preprocess", round_to(response.timing.preprocess_ms, 3)},
                       {"inference", round_to(response.timing.inference_ms, 3)},
                       {"postprocess", round_to(response.timing.postprocess_ms, 3)}}}};
  if (response.tiles > 0) out["tiles"] = response.tiles;
  return out;
}

namespace {

nlohmann::json input_to_json(const PreprocessSpec& pre) {
  nlohmann::json input{{"width", pre.size.width},
                       {"height", pre.size.height},
                       {"resize", resize_mode_name(pre.resize)},
                       {"channel_order", channel_order_name(pre.channel_order)}};
  if (pre.resize == ResizeMode::kKeepAspect) {  // width x height is then only the nominal square
    input["min_side"] = pre.min_side;
    input["max_side"] = pre.max_side;
  }
  return input;
}

}  // namespace

nlohmann::json model_to_json(const ModelSpec& spec) {
  return nlohmann::json{
      {"name", spec.name},
      {"family", spec.family},
      {"task", spec.task},
      {"description", spec.description},
      {"license", spec.license},
      {"input", input_to_json(spec.preprocess)},
      {"num_classes", spec.labels.size()},
      {"labels", spec.labels},
      {"weights", spec.weights.file},
      {"defaults",
       {{"score_threshold", round_to(static_cast<double>(spec.defaults.score_threshold), 4)},
        {"iou_threshold", round_to(static_cast<double>(spec.defaults.iou_threshold), 4)},
        {"max_detections", spec.defaults.max_detections}}}};
}

}  // namespace visearch
