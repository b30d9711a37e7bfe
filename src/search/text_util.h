// Text helpers for untrusted input that ends up in JSON (which must be valid UTF-8: nlohmann::json's
// dump() throws on anything else). Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace visearch::search {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by '?', cut to at most
// `max_bytes` (on a character boundary, "..." appended when cut).
std::string printable_utf8(std::string_view text, std::size_t max_bytes = 200);

// printable_utf8(), then every control character (C0 including NUL, DEL, C1) written as \xNN: user data in a
// message can neither drive the terminal (escape sequences) nor cut the line short (NUL).
std::string escape_controls(std::string_view text, std::size_t max_bytes = 200);

}  // namespace visearch::search
