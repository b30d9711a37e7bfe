// Atomic file replacement: the data goes to a temporary file in the destination's directory, is flushed
// to disk (fsync), then renamed over the destination, and the directory is fsynced. A reader (or a crash,
// or a kill) sees either the old complete file or the new complete file, never a truncated one.
//
// Failure modes: kIo naming the path and the system error; the temporary file is removed on failure and
// the destination is left untouched. Missing parent directories are created.
// Thread-safety: reentrant; two writers racing on one path each leave a complete file (last rename wins).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace visearch::dataset {

Status write_file_atomic(const std::string& path, std::string_view contents);

// Copies `source` to `destination` atomically (same guarantees as write_file_atomic), streaming.
Status copy_file_atomic(const std::string& source, const std::string& destination);

// Reads a whole text/annotation file (at most max_bytes). kNotFound, kIo, kPayloadTooLarge.
Result<std::string> read_text_file(const std::string& path,
                                   std::uint64_t max_bytes = std::uint64_t{2} << 30U);

}  // namespace visearch::dataset
