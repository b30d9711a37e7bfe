// Turns an HTTP request (already framed by the HTTP library) into an image and
// detection parameters. Transport-free so it can be fuzzed and unit-tested.
//
// Accepted bodies:
//   image/jpeg, image/png, image/webp, image/bmp, application/x-image,
//   application/octet-stream               the raw encoded image
//   multipart/form-data                    a file field "image"; other fields are parameters
//   application/json                       {"image": "<base64 or data: URL>", ...parameters}
// Parameters (query string, form fields or JSON members): model, score_threshold,
// iou_threshold, max_detections, classes, agnostic_nms, tile (auto, off or WxH), tile_overlap.
// Errors: kUnsupportedMediaType (415), kInvalidArgument (400) naming the field.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "model/detector.h"

namespace visearch {

struct FormPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string content;
};

struct HttpInput {
  std::string content_type;  // the Content-Type header, parameters included
  std::string_view body;     // empty for multipart (parts carry the data)
  std::multimap<std::string, std::string> query;
  std::vector<FormPart> parts;
};

struct ImageRequest {
  std::string image;  // encoded bytes
  std::string model;  // empty = default
  DetectOptions options;
  std::string classes;                       // unresolved names/ids; resolve against the model's spec
  std::map<std::string, std::string> extra;  // other parameters (e.g. search filters), last value wins
};

Result<ImageRequest> parse_image_request(const HttpInput& input);

// Base64 (standard alphabet, padding optional, whitespace ignored) or a data: URL.
Result<std::string> decode_base64(std::string_view text);

// Lower-cased media type without parameters: "Multipart/Form-Data; boundary=x" -> "multipart/form-data".
std::string media_type(std::string_view content_type);

// Applies one named parameter to the request; unknown names go to `extra`.
Status apply_parameter(ImageRequest& request, const std::string& name, const std::string& value);

}  // namespace visearch
