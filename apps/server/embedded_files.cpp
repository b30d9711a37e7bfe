#include "server/embedded_files.h"

#include <algorithm>

namespace visearch::server {

const EmbeddedFile* find_web_file(std::string_view path) {
  const auto it =
      std::lower_bound(kWebFiles.begin(), kWebFiles.end(), path,
                       [](const EmbeddedFile& file, std::string_view p) { return file.path < p; });
  return it != kWebFiles.end() && it->path == path ? &*it : nullptr;
}

}  // namespace visearch::server
