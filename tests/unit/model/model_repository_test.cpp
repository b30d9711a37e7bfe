#include "model/model_repository.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace visearch {
namespace {

namespace fs = std::filesystem;

class ModelRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("visearch_repo_test_" + std::to_string(::getpid()));
    fs::create_directories(root_ / "a");
    fs::create_directories(root_ / "b" / "sub");
    std::ofstream(root_ / "b" / "sub" / "w.onnx") << "abc";
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(ModelRepositoryTest, FindsFilesInOrderAndVerifiesChecksums) {
  const ModelRepository repo({}, {(root_ / "a").string(), (root_ / "b").string()});
  // sha256("abc")
  const std::string good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  auto found = repo.resolve(FileRef{"sub/w.onnx", good, ""});
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->path, (root_ / "b" / "sub" / "w.onnx").string());

  auto bad = repo.resolve(FileRef{"sub/w.onnx", std::string(64, '0'), ""});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kChecksumMismatch);
  EXPECT_NE(bad.error().message.find("w.onnx"), std::string::npos);

  const FileStatus status = repo.status(FileRef{"sub/w.onnx", std::string(64, '0'), ""});
  EXPECT_TRUE(status.present);
  EXPECT_FALSE(status.checksum_ok);
}

TEST_F(ModelRepositoryTest, MissingFileNamesEveryPlaceLooked) {
  const ModelRepository repo({}, {(root_ / "a").string(), (root_ / "b").string()});
  auto missing = repo.resolve(FileRef{"zoo/model.onnx", "", ""});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kModelMissing);
  const std::string& msg = missing.error().message;
  EXPECT_NE(msg.find("zoo/model.onnx"), std::string::npos);
  EXPECT_NE(msg.find((root_ / "a" / "zoo" / "model.onnx").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find((root_ / "b" / "zoo" / "model.onnx").string()), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST_F(ModelRepositoryTest, UnknownModelListsKnownOnes) {
  const ModelRepository repo({VISEARCH_SPEC_DIR}, {});
  auto spec = repo.find_spec("no_such_model");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code, ErrorCode::kNotFound);
  EXPECT_NE(spec.error().message.find("picodet_s_416"), std::string::npos);
  auto known = repo.find_spec("yolox_nano");
  ASSERT_TRUE(known);
  EXPECT_EQ(known->family, "yolox");
}

}  // namespace
}  // namespace visearch
