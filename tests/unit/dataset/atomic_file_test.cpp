#include <gtest/gtest.h>

#include <filesystem>

#include "dataset/atomic_file.h"
#include "test_util.h"

namespace visearch::dataset {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST(AtomicFile, WritesReplacesAndLeavesNoTemporaryFiles) {
  TempDir dir;
  const std::string path = dir.str("sub/dir/file.txt");
  ASSERT_TRUE(write_file_atomic(path, "first"));
  EXPECT_EQ(testing::read_text(path), "first");
  ASSERT_TRUE(write_file_atomic(path, "second, longer"));
  EXPECT_EQ(testing::read_text(path), "second, longer");
  EXPECT_EQ(testing::list_tree(dir.path()), "sub/dir/file.txt\n");
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::owner_read, fs::perms::owner_read);
}

TEST(AtomicFile, FailureLeavesTheOldFileIntact) {
  TempDir dir;
  const std::string path = dir.str("keep.txt");
  ASSERT_TRUE(write_file_atomic(path, "good"));
  // The destination is a non-empty directory: rename fails, nothing is lost, no temp file stays.
  fs::create_directories(dir.path() / "blocked/inner");
  auto st = write_file_atomic(dir.str("blocked"), "x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("blocked"), std::string::npos);
  EXPECT_EQ(testing::read_text(path), "good");
  EXPECT_EQ(testing::list_tree(dir.path()), "keep.txt\n");
  // A parent that is a file cannot be created.
  EXPECT_FALSE(write_file_atomic(dir.str("keep.txt/child"), "x"));
}

TEST(AtomicFile, CopyIsAtomicToo) {
  TempDir dir;
  testing::write_text(dir.path() / "src.bin", std::string(200000, 'z'));
  ASSERT_TRUE(copy_file_atomic(dir.str("src.bin"), dir.str("out/dst.bin")));
  EXPECT_EQ(fs::file_size(dir.path() / "out/dst.bin"), 200000U);
  auto missing = copy_file_atomic(dir.str("nope"), dir.str("out/x"));
  ASSERT_FALSE(missing);
  EXPECT_FALSE(fs::exists(dir.path() / "out/x"));
}

TEST(AtomicFile, ReadTextFileErrors) {
  EXPECT_EQ(read_text_file("/nonexistent/file").error().code, ErrorCode::kNotFound);
  TempDir dir;
  testing::write_text(dir.path() / "big", std::string(100, 'a'));
  EXPECT_EQ(read_text_file(dir.str("big"), 10).error().code, ErrorCode::kPayloadTooLarge);
}

}  // namespace
}  // namespace visearch::dataset
