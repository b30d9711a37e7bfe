#include "service/kserve.h"
#include "core/json_text.h"

namespace visearch {
namespace {

using nlohmann::json;

Unexpected bad(const std::string& message) {
  return Unexpected{ErrorCode::kInvalidArgument, message};
}

std::string parameter_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string text;
    for (const auto& item : value)
      text += (text.empty() ? "" : ",") + (item.is_string() ? item.get<std::string>() : to_json_text(item));
    return text;
  }
  return to_json_text(value);
}

}  // namespace

Result<KserveRequest> parse_kserve_request(std::string_view body, std::optional<std::size_t> header_length) {
  std::string_view header = body;
  std::string_view binary;
  if (header_length) {
    if (*header_length > body.size()) return bad("Inference-Header-Content-Length exceeds the body");
    header = body.substr(0, *header_length);
    binary = body.substr(*header_length);
  }
  const json doc = json::parse(header, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad("inference request is not a JSON object");
  KserveRequest out;
  if (auto id = doc.find("id"); id != doc.end() && id->is_string()) out.id = id->get<std::string>();
  auto inputs = doc.find("inputs");
  if (inputs == doc.end() || !inputs->is_array() || inputs->size() != 1 || !(*inputs)[0].is_object()) {
    return bad("inputs must hold exactly one tensor: the encoded image as BYTES");
  }
  const json& input = (*inputs)[0];
  if (input.value("datatype", std::string()) != "BYTES") return bad("input datatype must be BYTES");
  const json params = input.value("parameters", json::object());
  if (params.is_object() && params.contains("binary_data_size")) {
    if (!header_length) return bad("binary_data_size given without Inference-Header-Content-Length");
    const json& size = params["binary_data_size"];
    if (!size.is_number_unsigned() || size.get<std::size_t>() != binary.size()) {
      return bad("binary_data_size does not match the bytes after the JSON header");
    }
    out.request.image.assign(binary.begin(), binary.end());
  } else {
    auto data = input.find("data");
    if (data == input.end()) return bad("input has no data");
    const json* element = &*data;
    if (element->is_array()) {
      if (element->size() != 1) return bad("input data must hold exactly one image");
      element = &(*element)[0];
    }
    if (!element->is_string()) return bad("input data must be a base64 string");
    auto bytes = decode_base64(element->get_ref<const std::string&>());
    if (!bytes) return bytes.error();
    out.request.image = std::move(*bytes);
  }
  if (out.request.image.empty()) return Unexpected{ErrorCode::kCorruptImage, "empty image"};
  if (auto p = doc.find("parameters"); p != doc.end()) {
    if (!p->is_object()) return bad("parameters must be an object");
    for (const auto& [name, value] : p->items())
      VISEARCH_TRY(apply_parameter(out.request, name, parameter_text(value)));
  }
  return out;
}

json kserve_response(const DetectResponse& response, const std::string& id) {
  const std::size_t n = response.detections.size();
  json boxes = json::array();
  json scores = json::array();
  json class_ids = json::array();
  json labels = json::array();
  for (const Detection& d : response.detections) {
    boxes.insert(boxes.end(), {d.box.x1, d.box.y1, d.box.x2, d.box.y2});
    scores.push_back(d.score);
    class_ids.push_back(d.class_id);
    labels.push_back(response.spec->labels[static_cast<std::size_t>(d.class_id)]);
  }
  return json{
      {"model_name", response.model},
      {"model_version", "1"},
      {"id", id},
      {"parameters", {{"image_width", response.image.width}, {"image_height", response.image.height}}},
      {"outputs",
       {{{"name", "boxes"}, {"datatype", "FP32"}, {"shape", {n, 4}}, {"data", boxes}},
        {{"name", "scores"}, {"datatype", "FP32"}, {"shape", {n}}, {"data", scores}},
        {{"name", "class_ids"}, {"datatype", "INT64"}, {"shape", {n}}, {"data", class_ids}},
        {{"name", "labels"}, {"datatype", "BYTES"}, {"shape", {n}}, {"data", labels}}}}};
}

json kserve_model_metadata(const ModelSpec& spec) {
  return json{{"name", spec.name},
              {"versions", {"1"}},
              {"platform", "visearch_" + spec.family},
              {"inputs", {{{"name", "image"}, {"datatype", "BYTES"}, {"shape", {1}}}}},
              {"outputs",
               {{{"name", "boxes"}, {"datatype", "FP32"}, {"shape", {-1, 4}}},
                {{"name", "scores"}, {"datatype", "FP32"}, {"shape", {-1}}},
                {{"name", "class_ids"}, {"datatype", "INT64"}, {"shape", {-1}}},
                {{"name", "labels"}, {"datatype", "BYTES"}, {"shape", {-1}}}}},
              {"parameters",
               {{"labels", spec.labels},
                {"input_width", spec.preprocess.size.width},
                {"input_height", spec.preprocess.size.height}}}};
}

json kserve_server_metadata() {
  return json{{"name", "visearch"}, {"version", "0.1.0"}, {"extensions", {"binary_tensor_data"}}};
}

}  // namespace visearch
