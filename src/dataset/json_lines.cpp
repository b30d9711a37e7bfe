#include "dataset/json_lines.h"
#include "core/json_text.h"

#include <algorithm>
#include <iterator>

namespace visearch::dataset {
namespace {

// Forward iterator over the text that publishes how far the parser has read, so the parse callback
// knows the position of the token it is being told about.
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* position, const char** furthest) : position_(position), furthest_(furthest) {}
  reference operator*() const { return *position_; }
  TrackingIterator& operator++() {
    ++position_;
    *furthest_ = position_;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator copy = *this;
    ++*this;
    return copy;
  }
  friend bool operator==(const TrackingIterator& a, const TrackingIterator& b) {
    return a.position_ == b.position_;
  }
  friend bool operator!=(const TrackingIterator& a, const TrackingIterator& b) { return !(a == b); }

 private:
  const char* position_;
  const char** furthest_;
};

class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') newlines_.push_back(i);
    }
  }
  [[nodiscard]] int line_of(std::size_t offset) const {
    const auto it = std::lower_bound(newlines_.begin(), newlines_.end(), offset);
    return static_cast<int>(it - newlines_.begin()) + 1;
  }

 private:
  std::vector<std::size_t> newlines_;
};

std::string strip_exception_prefix(const std::string& what) {
  // nlohmann messages look like "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
  std::string out = what;
  if (!out.empty() && out.front() == '[') {
    const auto close = out.find("] ");
    if (close != std::string::npos) out = out.substr(close + 2);
  }
  const auto colon = out.find(": ");
  if (out.rfind("parse error", 0) == 0 && colon != std::string::npos) out = out.substr(colon + 2);
  return out;
}

}  // namespace

std::string dump_json(const nlohmann::json& value, int indent) {
  return to_json_text(value, indent);
}

TextPosition position_of(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  TextPosition pos;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

int JsonDocument::line_of(std::string_view key, std::size_t index) const {
  const auto it = element_lines.find(key);
  if (it == element_lines.end() || index >= it->second.size()) return 0;
  return it->second[index];
}

Result<JsonDocument> parse_json_document(std::string_view text, const std::string& origin) {
  JsonDocument doc;
  const LineIndex lines(text);
  const char* begin = text.data();
  const char* furthest = begin;
  bool top_is_array = false;
  std::string current_key;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) -> bool {
    using Event = nlohmann::json::parse_event_t;
    if (depth == 0 && event == Event::array_start) top_is_array = true;
    if (depth == 1 && event == Event::key && parsed.is_string()) current_key = parsed.get<std::string>();
    const int element_depth = top_is_array ? 1 : 2;
    if (depth == element_depth &&
        (event == Event::object_start || event == Event::value || event == Event::array_start)) {
      const std::string& key = top_is_array ? std::string() : current_key;
      // The parser has consumed the element's first character (and maybe, for scalars, the whole
      // token); `furthest` points just past it.
      const auto offset = static_cast<std::size_t>(furthest - begin);
      doc.element_lines[key].push_back(
          event == Event::object_start ? lines.line_of(offset == 0 ? 0 : offset - 1) : 0);
    }
    return true;
  };
  try {
    doc.value = nlohmann::json::parse(TrackingIterator(begin, &furthest),
                                      TrackingIterator(begin + text.size(), &furthest), callback);
  } catch (const nlohmann::json::parse_error& e) {
    const TextPosition pos = position_of(text, e.byte == 0 ? 0 : e.byte - 1);
    return Unexpected{ErrorCode::kInvalidArgument, origin + ":" + std::to_string(pos.line) + ":" +
                                                       std::to_string(pos.column) +
                                                       ": invalid JSON: " + strip_exception_prefix(e.what())};
  } catch (const std::exception& e) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      origin + ": invalid JSON: " + strip_exception_prefix(e.what())};
  }
  return doc;
}

}  // namespace visearch::dataset
