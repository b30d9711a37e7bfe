// The same photo stored with each EXIF orientation 1-8 (pixels transformed to
// match) gives the same boxes in upright coordinates through the real CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "core/geometry.h"
#include "io/image_decode.h"
#include "support/image_fixtures.h"

namespace visearch {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;
using testing::shell_quote;

ImageBox box_of(const nlohmann::json& o) {
  const auto& b = o.at("box");
  return ImageBox{b.at("x1").get<float>(), b.at("y1").get<float>(), b.at("x2").get<float>(),
                  b.at("y2").get<float>()};
}

TEST(ExifOrientation, EveryOrientationGivesTheSameUprightBoxes) {
  const std::string source = std::string(VISEARCH_SHARED_DIR) + "/data/samples/dog.jpg";
  auto bytes = read_file_bytes(source, 1U << 26U);
  ASSERT_TRUE(bytes);
  auto decoded = decode_image(*bytes, DecodeLimits{});
  ASSERT_TRUE(decoded);
  const Image& upright = decoded->image;

  const fs::path dir = fs::temp_directory_path() / ("visearch_exif_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const auto jpeg = test::make_jpeg_with_orientation(upright, orientation);
    std::ofstream(dir / ("orientation_" + std::to_string(orientation) + ".jpg"), std::ios::binary)
        .write(reinterpret_cast<const char*>(jpeg.data()),
               static_cast<std::streamsize>(jpeg.size()));  // NOLINT
  }
  const auto result = run_cli("detect --format json --model picodet_s_416 --score-threshold 0.4 " +
                              shell_quote(dir.string()));
  fs::remove_all(dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;

  std::map<int, nlohmann::json> by_orientation;
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    const std::string name = fs::path(j.at("source").get<std::string>()).stem().string();
    by_orientation[std::stoi(name.substr(name.find('_') + 1))] = j;
  }
  ASSERT_EQ(by_orientation.size(), 8U);
  const nlohmann::json& reference = by_orientation[1];
  ASSERT_GE(reference.at("objects").size(), 3U);  // dog, bicycle, car
  for (int orientation = 2; orientation <= 8; ++orientation) {
    const nlohmann::json& got = by_orientation[orientation];
    EXPECT_EQ(got.at("image"), reference.at("image")) << "orientation " << orientation;
    ASSERT_EQ(got.at("objects").size(), reference.at("objects").size()) << "orientation " << orientation;
    for (const auto& ref : reference.at("objects")) {
      float best = 0.F;
      for (const auto& o : got.at("objects")) {
        if (o.at("label") != ref.at("label")) continue;
        best = std::max(best, iou(box_of(o), box_of(ref)));
      }
      EXPECT_GE(best, 0.95F) << "orientation " << orientation << ": " << ref.dump();
    }
  }
}

}  // namespace
}  // namespace visearch
