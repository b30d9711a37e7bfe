// Files compiled into the binary (cmake/embed_dir.cmake): the web pages, so that an installed or copied
// binary serves them with no source tree. --static-dir (serve) and --web-dir (label) override them.
#pragma once

#include <span>
#include <string_view>

namespace visearch::server {

struct EmbeddedFile {
  std::string_view path;  // relative to web/, '/'-separated: "index.html", "label/label.js"
  std::string_view bytes;
  std::string_view etag;  // a strong validator, quoted: "0123456789abcdef" (from the bytes' SHA-1)
};

// Every file under web/, sorted by path.
extern const std::span<const EmbeddedFile> kWebFiles;

// The file at `path` (relative to web/), or nullptr.
[[nodiscard]] const EmbeddedFile* find_web_file(std::string_view path);

}  // namespace visearch::server
