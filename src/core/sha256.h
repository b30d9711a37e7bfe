// SHA-256 of a file, streamed (constant memory). Used to verify weight files.
#pragma once

#include <string>

#include "core/result.h"

namespace visearch {

// Lower-case hex digest, or kIo naming the file on a read failure.
Result<std::string> sha256_file(const std::string& path);

}  // namespace visearch
