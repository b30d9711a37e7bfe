#include "dataset/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "io/image_decode.h"

namespace visearch::dataset {
namespace {

namespace fs = std::filesystem;

Error io_error(const std::string& path, const std::string& what, int err) {
  return Error{ErrorCode::kIo, path + ": " + what + ": " + std::strerror(err)};
}

Status write_all(int fd, const char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, "write failed", errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return ok_status();
}

// A temporary file beside `path`, opened for writing; removed by the destructor unless committed.
class TempFile {
 public:
  TempFile() = default;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  TempFile(TempFile&&) = delete;
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !name_.empty()) ::unlink(name_.c_str());
  }

  Status open(const std::string& path) {
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Error{ErrorCode::kIo, dir.string() + ": cannot create directory: " + ec.message()};
    std::string pattern = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    fd_ = ::mkstemp(buffer.data());
    if (fd_ < 0) return io_error(path, "cannot create temporary file", errno);
    name_ = buffer.data();
    ::fchmod(fd_, 0644);
    return ok_status();
  }

  Status commit(const std::string& path) {
    if (::fsync(fd_) != 0) return io_error(path, "fsync failed", errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return io_error(path, "close failed", errno);
    if (::rename(name_.c_str(), path.c_str()) != 0) return io_error(path, "rename failed", errno);
    committed_ = true;
    const fs::path target(path);
    const std::string dir = target.has_parent_path() ? target.parent_path().string() : std::string(".");
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);  // best effort: some file systems refuse fsync on directories
      ::close(dir_fd);
    }
    return ok_status();
  }

  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string name_;
  bool committed_ = false;
};

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view contents) {
  TempFile temp;
  VISEARCH_TRY(temp.open(path));
  VISEARCH_TRY(write_all(temp.fd(), contents.data(), contents.size(), path));
  return temp.commit(path);
}

Status copy_file_atomic(const std::string& source, const std::string& destination) {
  const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return io_error(source, "cannot open", errno);
  struct Closer {
    int fd;
    explicit Closer(int descriptor) : fd(descriptor) {}
    Closer(const Closer&) = delete;
    Closer& operator=(const Closer&) = delete;
    Closer(Closer&&) = delete;
    Closer& operator=(Closer&&) = delete;
    ~Closer() { ::close(fd); }
  } closer{in};
  TempFile temp;
  VISEARCH_TRY(temp.open(destination));
  std::array<char, 1 << 16> buffer{};
  while (true) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(source, "read failed", errno);
    }
    if (n == 0) break;
    VISEARCH_TRY(write_all(temp.fd(), buffer.data(), static_cast<std::size_t>(n), destination));
  }
  return temp.commit(destination);
}

Result<std::string> read_text_file(const std::string& path, std::uint64_t max_bytes) {
  auto bytes = read_file_bytes(path, max_bytes, FileKind::kRegularOnly);
  if (!bytes) return bytes.error();
  return std::string(bytes->begin(), bytes->end());
}

}  // namespace visearch::dataset
