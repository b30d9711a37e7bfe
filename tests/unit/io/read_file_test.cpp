#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/image_decode.h"
#include "test_helpers.h"

namespace visearch {
namespace {

namespace fs = std::filesystem;
using test::fails_with;

class ReadFileBytesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("visearch_io_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path.string();
  }
  fs::path dir_;
};

TEST_F(ReadFileBytesTest, ReadsWholeFile) {
  std::vector<std::uint8_t> bytes(200'000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 31 + 7);
  const std::string path = write("data.bin", bytes);
  const Result<std::vector<std::uint8_t>> r = read_file_bytes(path, 1 << 20);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, bytes);
}

TEST_F(ReadFileBytesTest, EmptyFileIsEmpty) {
  const Result<std::vector<std::uint8_t>> r = read_file_bytes(write("empty", {}), 100);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->empty());
}

TEST_F(ReadFileBytesTest, LimitIsInclusive) {
  const std::string path = write("ten", std::vector<std::uint8_t>(10, 1));
  EXPECT_TRUE(read_file_bytes(path, 10).has_value());
  const Result<std::vector<std::uint8_t>> r = read_file_bytes(path, 9);
  ASSERT_TRUE(fails_with(r, ErrorCode::kPayloadTooLarge));
  EXPECT_NE(r.error().message.find("10 bytes"), std::string::npos) << r.error().message;
  EXPECT_TRUE(fails_with(read_file_bytes(path, 0), ErrorCode::kPayloadTooLarge));
}

TEST_F(ReadFileBytesTest, NotFound) {
  const std::string path = (dir_ / "missing.jpg").string();
  const Result<std::vector<std::uint8_t>> r = read_file_bytes(path, 100);
  ASSERT_TRUE(fails_with(r, ErrorCode::kNotFound));
  EXPECT_NE(r.error().message.find("missing.jpg"), std::string::npos);
  EXPECT_TRUE(fails_with(read_file_bytes((dir_ / "no_dir" / "x").string(), 100), ErrorCode::kNotFound));
}

TEST_F(ReadFileBytesTest, DirectoryIsRejected) {
  const Result<std::vector<std::uint8_t>> r = read_file_bytes(dir_.string(), 100);
  ASSERT_TRUE(fails_with(r, ErrorCode::kInvalidArgument));
  EXPECT_NE(r.error().message.find("directory"), std::string::npos) << r.error().message;
}

TEST_F(ReadFileBytesTest, EmptyPath) {
  EXPECT_TRUE(fails_with(read_file_bytes("", 100), ErrorCode::kInvalidArgument));
}

TEST_F(ReadFileBytesTest, PermissionDenied) {
  const std::string path = write("secret", {1, 2, 3});
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  if (::geteuid() != 0) {
    EXPECT_TRUE(fails_with(read_file_bytes(path, 100), ErrorCode::kIo));
    return;
  }
  // Root ignores file permissions: check from a child that drops to user "nobody".
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    const auto r = read_file_bytes(path, 100);
    ::_exit(!r && r.error().code == ErrorCode::kIo ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not refused with kIo, 2: could not drop privileges";
}

// A path from data (a catalog row, a data-set folder) naming a FIFO with no writer must not block the
// reader forever (issue 11, defect 9): kRegularOnly refuses it at once, as it refuses devices.
TEST_F(ReadFileBytesTest, RegularOnlyRefusesFifosAndDevicesWithoutBlocking) {
  const fs::path fifo = dir_ / "images.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto started = std::chrono::steady_clock::now();
  const auto refused = read_file_bytes(fifo.string(), 1000, FileKind::kRegularOnly);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  ASSERT_TRUE(fails_with(refused, ErrorCode::kInvalidArgument));
  EXPECT_NE(refused.error().message.find("not a regular file"), std::string::npos);
  EXPECT_TRUE(
      fails_with(read_file_bytes("/dev/zero", 1000, FileKind::kRegularOnly), ErrorCode::kInvalidArgument));
  const std::string regular = write("ok.bin", {'a', 'b', 'c'});
  auto read = read_file_bytes(regular, 1000, FileKind::kRegularOnly);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->size(), 3U);
}

TEST_F(ReadFileBytesTest, UnboundedStreamStopsAtLimit) {
  // /dev/zero has no size; reading must stop just past the limit.
  ASSERT_TRUE(fs::exists("/dev/zero"));
  EXPECT_TRUE(fails_with(read_file_bytes("/dev/zero", 100'000), ErrorCode::kPayloadTooLarge));
}

}  // namespace
}  // namespace visearch
