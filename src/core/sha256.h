// SHA-256: of a file, streamed (constant memory; weight files), or of bytes in memory (image content).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"

namespace visearch {

// Lower-case hex digest, or kIo naming the file on a read failure.
Result<std::string> sha256_file(const std::string& path);
// Lower-case hex digest of bytes in memory (content addresses of catalog images).
std::string sha256_hex(std::span<const std::uint8_t> bytes);

}  // namespace visearch
