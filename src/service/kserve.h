// KServe / Open Inference Protocol v2 (REST) mapping for detection models.
//
// Request (POST /v2/models/{name}/infer), JSON:
//   {"id": "optional",
//    "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["<base64 image>"]}],
//    "parameters": {"score_threshold": 0.4, "iou_threshold": 0.5, "max_detections": 50,
//                   "classes": "cup,person", "agnostic_nms": true}}
// or with the binary tensor extension: Inference-Header-Content-Length: N, the
// first N body bytes are the JSON header, the input carries
// "parameters": {"binary_data_size": K} and its K raw image bytes follow.
//
// Response outputs (N = number of detections):
//   boxes      FP32  [N, 4]  x1, y1, x2, y2 in original-image pixels
//   scores     FP32  [N]
//   class_ids  INT64 [N]
//   labels     BYTES [N]
// plus "parameters": {"image_width", "image_height"}.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/model_spec.h"
#include "service/detect_service.h"
#include "service/image_request.h"

namespace visearch {

struct KserveRequest {
  std::string id;
  ImageRequest request;
};

Result<KserveRequest> parse_kserve_request(std::string_view body, std::optional<std::size_t> header_length);
nlohmann::json kserve_response(const DetectResponse& response, const std::string& id);
nlohmann::json kserve_model_metadata(const ModelSpec& spec);
nlohmann::json kserve_server_metadata();

}  // namespace visearch
