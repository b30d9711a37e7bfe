// read_file_bytes: POSIX open/fstat/read, so that each failure gets a precise error.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "io/image_decode.h"

namespace visearch {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&&) = delete;
  FileDescriptor& operator=(FileDescriptor&&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

Error too_large(const std::string& path, std::uint64_t size, std::uint64_t max_bytes, bool at_least) {
  return Error{ErrorCode::kPayloadTooLarge, "file " + path + " is " + (at_least ? "more than " : "") +
                                                std::to_string(size) + " bytes, above the limit of " +
                                                std::to_string(max_bytes) + " bytes"};
}

}  // namespace

Result<std::vector<std::uint8_t>> read_file_bytes(const std::string& path, std::uint64_t max_bytes,
                                                  FileKind kind) {
  if (path.empty()) return Unexpected{ErrorCode::kInvalidArgument, "empty file path"};
  // O_NONBLOCK: opening a FIFO with no writer would otherwise block forever (a catalog row naming one
  // stalled the whole import); regular files ignore the flag.
  const int flags = O_RDONLY | O_CLOEXEC | (kind == FileKind::kRegularOnly ? O_NONBLOCK : 0);
  const int fd_value = ::open(path.c_str(), flags);
  if (fd_value < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return Unexpected{ErrorCode::kNotFound, "file not found: " + path};
    if (err == EISDIR) return Unexpected{ErrorCode::kInvalidArgument, "is a directory, not a file: " + path};
    return Unexpected{ErrorCode::kIo, "cannot open " + path + ": " + errno_text(err)};
  }
  const FileDescriptor fd(fd_value);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return Unexpected{ErrorCode::kIo, "cannot stat " + path + ": " + errno_text(errno)};
  }
  if (S_ISDIR(info.st_mode)) {
    return Unexpected{ErrorCode::kInvalidArgument, "is a directory, not a file: " + path};
  }
  const bool regular = S_ISREG(info.st_mode);
  if (kind == FileKind::kRegularOnly && !regular) {
    return Unexpected{ErrorCode::kInvalidArgument, "not a regular file (a pipe, socket or device): " + path};
  }
  if (regular && static_cast<std::uint64_t>(info.st_size) > max_bytes) {
    return too_large(path, static_cast<std::uint64_t>(info.st_size), max_bytes, false);
  }

  try {
    std::vector<std::uint8_t> bytes;
    if (regular) bytes.reserve(static_cast<std::size_t>(info.st_size));
    constexpr std::size_t kChunk = std::size_t{64} * 1024;
    std::vector<std::uint8_t> chunk(kChunk);
    for (;;) {
      // Ask for up to one byte past the limit, to notice a file that grew or has no known size.
      const std::uint64_t remaining = max_bytes - bytes.size();  // bytes.size() <= max_bytes here
      const std::size_t want = remaining >= kChunk ? kChunk : static_cast<std::size_t>(remaining) + 1;
      const ssize_t got = ::read(fd.get(), chunk.data(), want);
      if (got < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        return Unexpected{ErrorCode::kIo, "read error on " + path + ": " + errno_text(err)};
      }
      if (got == 0) break;
      bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
      if (bytes.size() > max_bytes) return too_large(path, max_bytes, max_bytes, true);
    }
    return bytes;
  } catch (const std::bad_alloc&) {
    return Unexpected{ErrorCode::kInternal, "out of memory reading " + path};
  } catch (const std::length_error&) {
    return Unexpected{ErrorCode::kPayloadTooLarge, "file " + path + " is too large to hold in memory"};
  }
}

}  // namespace visearch
