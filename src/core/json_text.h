#pragma once
// JSON text that never throws. nlohmann::json::dump() raises type_error 316 on a string that is not valid
// UTF-8, and such strings reach us from untrusted input: a request path such as "/%FF", a file or class
// name read from a user's data set, a product field. Every place that serialises JSON for a client, a log
// line or a file goes through this function; invalid bytes become U+FFFD.
#include <string>

#include <nlohmann/json.hpp>

namespace visearch {

inline std::string to_json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace visearch
