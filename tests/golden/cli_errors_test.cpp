// Bad input through the real CLI: each bad file gives one error line naming it
// and a non-zero exit status, while the other files of the run are processed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "cli_runner.h"
#include "support/image_fixtures.h"

namespace visearch {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;
using testing::shell_quote;

class CliErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("visearch_cli_errors_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string put(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));  // NOLINT
    return p.string();
  }
  std::string file_for_missing() { return put("x.jpg", sample_bytes("dog.jpg")); }
  static std::vector<std::uint8_t> sample_bytes(const std::string& name) {
    std::ifstream in(std::string(VISEARCH_SHARED_DIR) + "/data/samples/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  fs::path dir_;
};

TEST_F(CliErrorsTest, BadFilesAreReportedAndTheRestProcessed) {
  const auto good = sample_bytes("dog.jpg");
  std::vector<std::uint8_t> truncated(good.begin(),
                                      good.begin() + static_cast<std::ptrdiff_t>(good.size() / 3));
  std::mt19937 rng(1);
  std::vector<std::uint8_t> noise(2000);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  const std::string gif = "GIF89a\x01\x00\x01\x00\x80\x00\x00";

  const std::vector<std::string> bad{
      put("empty.jpg", {}),
      put("truncated.jpg", truncated),
      put("random.jpg", noise),
      put("animation.gif", std::vector<std::uint8_t>(gif.begin(), gif.end())),
      put("huge.jpg", test::make_jpeg_header_claiming(60000, 60000)),
      put("huge.png", test::make_png_header_claiming(60000, 60000)),
  };
  const std::string first = put("a_good.jpg", good);
  const std::string last = put("z_good.png", test::make_png(test::make_gradient_image(64, 48)));

  std::string args = "detect --format json --model fastestdet " + shell_quote(first);
  for (const auto& b : bad) args += " " + shell_quote(b);
  args += " " + shell_quote(last) + " " + shell_quote((dir_ / "missing.jpg").string());
  const auto r = run_cli(args);
  EXPECT_NE(r.exit_code, 0);

  // Both good files produced a result, in order.
  std::istringstream out(r.out);
  std::vector<std::string> sources;
  std::string line;
  while (std::getline(out, line))
    sources.push_back(nlohmann::json::parse(line).at("source").get<std::string>());
  EXPECT_EQ(sources, (std::vector<std::string>{first, last}));

  // One error line per bad file, naming it.
  std::istringstream err(r.err);
  std::vector<std::string> errors;
  while (std::getline(err, line)) {
    if (line.rfind("visearch:", 0) == 0) errors.push_back(line);  // skip sanitizer summaries
  }
  ASSERT_EQ(errors.size(), bad.size() + 1) << r.err;
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_NE(errors[i].find(bad[i]), std::string::npos) << errors[i];
    EXPECT_EQ(errors[i].rfind("visearch: error: ", 0), 0U) << errors[i];
  }
  EXPECT_NE(errors[4].find("60000x60000"), std::string::npos) << errors[4];
  EXPECT_NE(errors[3].find("unsupported"), std::string::npos) << errors[3];
  EXPECT_NE(errors.back().find("missing.jpg"), std::string::npos);
}

TEST_F(CliErrorsTest, PixelLimitIsConfigurable) {
  const std::string file = put("dog.jpg", sample_bytes("dog.jpg"));  // 768x576 = 442,368 pixels
  const auto refused =
      run_cli("detect --format json --model fastestdet --max-pixels 400000 " + shell_quote(file));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("400000"), std::string::npos) << refused.err;
  const auto accepted =
      run_cli("detect --format json --model fastestdet --max-pixels 500000 " + shell_quote(file));
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
}

TEST_F(CliErrorsTest, StandardInputAndTableFormat) {
  const std::string file = put("dog.jpg", sample_bytes("dog.jpg"));
  const auto json_run = run_cli("detect --format json --model fastestdet -", file);
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const auto j = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(j.at("source"), "-");
  EXPECT_EQ(j.at("image").at("width"), 768);
  const auto table = run_cli("detect --format table --model fastestdet " + shell_quote(file));
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("dog"), std::string::npos);
  EXPECT_NE(table.out.find("768x576"), std::string::npos);
}

TEST_F(CliErrorsTest, DrawWritesAnnotatedCopies) {
  const std::string file = put("dog.jpg", sample_bytes("dog.jpg"));
  const fs::path out_dir = dir_ / "drawn";
  const auto r = run_cli("detect --format json --model fastestdet --draw " + shell_quote(out_dir.string()) +
                         " " + shell_quote(file));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(out_dir / "dog.jpg"));
  EXPECT_GT(fs::file_size(out_dir / "dog.jpg"), 1000U);
}

TEST_F(CliErrorsTest, MissingWeightsNameTheFileAndEveryPlaceLooked) {
  const fs::path spec = dir_ / "mine.json";
  std::ofstream(spec) << R"({"name": "mine", "family": "yolov8", "weights": {"file": "nowhere/mine.onnx"},
    "input": {"width": 32, "height": 32}, "labels": ["a"]})";
  const auto r = run_cli("detect --model " + shell_quote(spec.string()) + " --model-dir " +
                         shell_quote(dir_.string()) + " " + shell_quote(file_for_missing()));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("nowhere/mine.onnx"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((dir_ / "nowhere" / "mine.onnx").string()), std::string::npos) << r.err;
}

TEST_F(CliErrorsTest, ModelsListsEveryShippedModelWithItsChecksumStatus) {
  const auto r = run_cli("models --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream out(r.out);
  std::string line;
  int count = 0;
  while (std::getline(out, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.at("weights").at("present").get<bool>()) << line;
    EXPECT_TRUE(j.at("weights").at("checksum_ok").get<bool>()) << line;
    ++count;
  }
  EXPECT_GE(count, 6);
}

}  // namespace
}  // namespace visearch
