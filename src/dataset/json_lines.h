// JSON parsing (nlohmann_json) that remembers where things are: the 1-based line on which each object
// element of a top-level array starts, so that a problem found after parsing (a negative width in
// "annotations"[812]) can be reported as file:line. Syntax errors are reported with line and column.
//
// Failure modes: kInvalidArgument "<origin>:<line>:<col>: invalid JSON: ..." for malformed text.
// Never throws. Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace visearch::dataset {

struct JsonDocument {  // NOLINT(bugprone-exception-escape): clang-tidy 14 false positive on implicit members
  nlohmann::json value;
  // Top-level object key (or "" when the document itself is an array) -> line of each object element of
  // that array, in order. Elements that are not objects get line 0.
  std::map<std::string, std::vector<int>, std::less<>> element_lines;

  // Line of element `index` of top-level array `key` ("" for a top-level array); 0 when unknown.
  [[nodiscard]] int line_of(std::string_view key, std::size_t index) const;
};

Result<JsonDocument> parse_json_document(std::string_view text, const std::string& origin);

// json.dump(indent) that never throws: invalid UTF-8 in strings (file or class names read from user
// files) is replaced by U+FFFD instead of raising nlohmann's type_error 316.
std::string dump_json(const nlohmann::json& value, int indent = 2);

// 1-based line and column of byte offset `offset` in `text`.
struct TextPosition {
  int line = 1;
  int column = 1;
};
TextPosition position_of(std::string_view text, std::size_t offset);

}  // namespace visearch::dataset
