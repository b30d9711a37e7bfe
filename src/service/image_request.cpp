#include "service/image_request.h"
#include "core/json_text.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

namespace visearch {
namespace {

Unexpected bad(const std::string& message) {
  return Unexpected{ErrorCode::kInvalidArgument, message};
}

Result<float> parse_float(const std::string& name, const std::string& value) {
  float out = 0.F;
  const char* begin = value.data();
  const char* end = begin + value.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  if (ec != std::errc() || ptr != end || !std::isfinite(out))
    return bad(name + " must be a number, got '" + value + "'");
  return out;
}

Result<int> parse_int(const std::string& name, const std::string& value) {
  int out = 0;
  const char* begin = value.data();
  const char* end = begin + value.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  if (ec != std::errc() || ptr != end) return bad(name + " must be an integer, got '" + value + "'");
  return out;
}

Result<bool> parse_bool(const std::string& name, const std::string& value) {
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "true" || v == "1" || v == "yes" || v.empty()) return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return bad(name + " must be true or false, got '" + value + "'");
}

bool is_raw_image_type(const std::string& type) {
  return type == "image/jpeg" || type == "image/jpg" || type == "image/png" || type == "image/webp" ||
         type == "image/bmp" || type == "image/x-ms-bmp" || type == "application/x-image" ||
         type == "application/octet-stream";
}

}  // namespace

std::string media_type(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.front()))) type.remove_prefix(1);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.remove_suffix(1);
  std::string out(type);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Result<std::string> decode_base64(std::string_view text) {
  if (text.starts_with("data:")) {
    const std::size_t comma = text.find(',');
    if (comma == std::string_view::npos || text.substr(0, comma).find(";base64") == std::string_view::npos) {
      return bad("image: a data: URL must be base64-encoded");
    }
    text.remove_prefix(comma + 1);
  }
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
    if (!ok) return bad("image: not valid base64");
    clean.push_back(c);
  }
  while (clean.size() % 4 != 0) clean.push_back('=');
  if (clean.empty()) return bad("image: empty");
  std::string out(clean.size() / 4 * 3, '\0');
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): OpenSSL takes bytes as unsigned char
  auto* decoded = reinterpret_cast<unsigned char*>(out.data());
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): OpenSSL takes bytes as unsigned char
  const auto* encoded = reinterpret_cast<const unsigned char*>(clean.data());
  const int n = EVP_DecodeBlock(decoded, encoded, static_cast<int>(clean.size()));
  if (n < 0) return bad("image: not valid base64");
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  auto size = static_cast<std::size_t>(n);
  std::size_t pad = 0;
  for (std::size_t i = clean.size(); i > 0 && clean[i - 1] == '='; --i) ++pad;
  if (pad > 2) return bad("image: not valid base64");
  size -= std::min(size, pad);
  out.resize(size);
  return out;
}

// The parameters apply_parameter() reads itself (the rest go to ImageRequest::extra).
bool is_detection_parameter(const std::string& name) {
  return name == "model" || name == "score_threshold" || name == "iou_threshold" ||
         name == "max_detections" || name == "classes" || name == "agnostic_nms" || name == "tile" ||
         name == "tile_overlap";
}

Status apply_parameter(ImageRequest& request, const std::string& name, const std::string& value) {
  if (name == "model") {
    request.model = value;
  } else if (name == "score_threshold") {
    auto v = parse_float(name, value);
    if (!v) return v.error();
    if (*v < 0.F || *v > 1.F) return bad("score_threshold must be in [0, 1]");
    request.options.score_threshold = *v;
  } else if (name == "iou_threshold") {
    auto v = parse_float(name, value);
    if (!v) return v.error();
    if (*v < 0.F || *v > 1.F) return bad("iou_threshold must be in [0, 1]");
    request.options.iou_threshold = *v;
  } else if (name == "max_detections") {
    auto v = parse_int(name, value);
    if (!v) return v.error();
    if (*v < 1 || *v > 10000) return bad("max_detections must be in 1..10000");
    request.options.max_detections = *v;
  } else if (name == "classes") {
    request.classes = value;
  } else if (name == "agnostic_nms") {
    auto v = parse_bool(name, value);
    if (!v) return v.error();
    request.options.agnostic_nms = *v;
  } else if (name == "tile") {
    auto v = parse_tile(value, request.options.tile);
    if (!v) return v.error();
    request.options.tile = *v;
  } else if (name == "tile_overlap") {
    auto v = parse_tile_overlap(value);
    if (!v) return v.error();
    request.options.tile.overlap = *v;
  } else {
    request.extra[name] = value;
  }
  return ok_status();
}

Result<ImageRequest> parse_image_request(const HttpInput& input) {
  ImageRequest request;
  for (const auto& [name, value] : input.query) VISEARCH_TRY(apply_parameter(request, name, value));
  const std::string type = media_type(input.content_type);
  if (type == "multipart/form-data") {
    bool found = false;
    for (const FormPart& part : input.parts) {
      if (part.name == "image") {
        if (found) return bad("multipart: more than one 'image' field");
        request.image = part.content;
        found = true;
      } else if (part.filename.empty()) {
        VISEARCH_TRY(apply_parameter(request, part.name, part.content));
      }
    }
    if (!found) return bad("multipart: no file field named 'image'");
  } else if (type == "application/json") {
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(input.body);
    } catch (const nlohmann::json::exception& e) {
      // Say why: "number overflow parsing '1e309'", "syntax error ... unexpected end of input".
      std::string why = e.what();
      if (const auto cut = why.find("] "); cut != std::string::npos) why = why.substr(cut + 2);
      for (char& c : why) {  // the message quotes the body's bytes: keep it printable ASCII
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) c = '?';
      }
      if (why.size() > 200) why = why.substr(0, 200) + "...";
      return bad("body is not valid JSON: " + why);
    }
    if (!doc.is_object()) return bad("body is not a JSON object");
    auto image = doc.find("image");
    if (image == doc.end() || !image->is_string()) return bad("JSON body needs \"image\": a base64 string");
    auto bytes = decode_base64(image->get_ref<const std::string&>());
    if (!bytes) return bytes.error();
    request.image = std::move(*bytes);
    for (const auto& [name, value] : doc.items()) {
      if (name == "image") continue;
      std::string text;
      if (value.is_string()) {
        text = value.get<std::string>();
      } else if (value.is_number() || value.is_boolean()) {
        text = to_json_text(value);
      } else if (value.is_array() && name == "classes") {
        for (const auto& item : value) {
          if (!item.is_string() && !item.is_number_integer()) {
            return bad("classes must be a list of class names or ids, got " + to_json_text(value));
          }
          text +=
              (text.empty() ? "" : ",") + (item.is_string() ? item.get<std::string>() : to_json_text(item));
        }
      } else if (is_detection_parameter(name)) {
        // A list, an object or null where a value belongs was ignored (the default applied): refuse it.
        return bad(name + " must be a " +
                   (name == "model"          ? "model name"
                    : name == "classes"      ? "list of class names"
                    : name == "agnostic_nms" ? "boolean"
                    : name == "tile"         ? "string (auto, off or WxH)"
                                             : "number") +
                   ", got " + to_json_text(value));
      } else {
        request.extra[name] = to_json_text(value);
        continue;
      }
      VISEARCH_TRY(apply_parameter(request, name, text));
    }
  } else if (is_raw_image_type(type)) {
    request.image.assign(input.body.begin(), input.body.end());
  } else {
    return Unexpected{ErrorCode::kUnsupportedMediaType,
                      "unsupported Content-Type '" + input.content_type +
                          "'; send image/jpeg, image/png, image/webp, image/bmp, application/octet-stream, "
                          "multipart/form-data (field 'image') or application/json ({\"image\": base64})"};
  }
  if (request.image.empty()) return Unexpected{ErrorCode::kCorruptImage, "empty image"};
  return request;
}

}  // namespace visearch
