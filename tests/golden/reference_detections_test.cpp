// For each shipped detector, `visearch detect` on ../shared/data/samples must
// reproduce the model's reference_detections.json: every reference object
// found (same label, IoU >= 0.85, |score difference| <= 0.05) and nothing
// extra scoring more than 0.05 above the reference threshold, using the
// reference's thresholds and NMS.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "core/geometry.h"

namespace visearch {
namespace {

using testing::run_cli;
using testing::shell_quote;

struct Object {
  std::string label;
  float score;
  ImageBox box;
};

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

class ReferenceDetections : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceDetections, CliReproducesTheIndependentDecoder) {
  const std::string model = GetParam();
  const std::string shared = VISEARCH_SHARED_DIR;
  const nlohmann::json reference = read_json(shared + "/models/" + model + "/reference_detections.json");
  const auto threshold = reference.at("score_threshold").get<float>();
  ASSERT_EQ(reference.at("nms").get<std::string>(), "class-aware, IoU 0.45");

  char threshold_text[32];
  std::snprintf(threshold_text, sizeof threshold_text, "%.4f", static_cast<double>(threshold));
  const auto result =
      run_cli("detect --format json --model " + model + " --score-threshold " + threshold_text +
              " --iou-threshold 0.45 --max-detections 100 " + shell_quote(shared + "/data/samples"));
  ASSERT_EQ(result.exit_code, 0) << result.err;

  std::map<std::string, std::vector<Object>> found;
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const std::string name = std::filesystem::path(j.at("source").get<std::string>()).filename().string();
    auto& objects = found[name];
    for (const auto& o : j.at("objects")) {
      const auto& b = o.at("box");
      objects.push_back(Object{o.at("label").get<std::string>(), o.at("score").get<float>(),
                               ImageBox{b.at("x1").get<float>(), b.at("y1").get<float>(),
                                        b.at("x2").get<float>(), b.at("y2").get<float>()}});
    }
  }

  int matched = 0;
  for (const auto& [image_name, image_ref] : reference.at("images").items()) {
    ASSERT_TRUE(found.count(image_name)) << model << ": no output for " << image_name;
    std::vector<Object>& mine = found[image_name];
    std::vector<bool> used(mine.size(), false);
    for (const auto& ref : image_ref.at("detections")) {
      const auto& rb = ref.at("box");
      const ImageBox ref_box{rb[0].get<float>(), rb[1].get<float>(), rb[2].get<float>(), rb[3].get<float>()};
      const auto ref_score = ref.at("score").get<float>();
      const auto ref_label = ref.at("label").get<std::string>();
      int best = -1;
      float best_iou = 0.F;
      for (std::size_t i = 0; i < mine.size(); ++i) {
        if (used[i] || mine[i].label != ref_label || std::abs(mine[i].score - ref_score) > 0.05F) continue;
        const float overlap = iou(mine[i].box, ref_box);
        if (overlap >= 0.85F && overlap > best_iou) {
          best = static_cast<int>(i);
          best_iou = overlap;
        }
      }
      EXPECT_GE(best, 0) << model << " " << image_name << ": reference " << ref_label << " " << ref_score
                         << " [" << ref_box.x1 << "," << ref_box.y1 << "," << ref_box.x2 << "," << ref_box.y2
                         << "] not found";
      if (best >= 0) {
        used[static_cast<std::size_t>(best)] = true;
        ++matched;
      }
    }
    for (std::size_t i = 0; i < mine.size(); ++i) {
      if (used[i]) continue;
      EXPECT_LE(mine[i].score, threshold + 0.05F)
          << model << " " << image_name << ": extra " << mine[i].label << " " << mine[i].score << " ["
          << mine[i].box.x1 << "," << mine[i].box.y1 << "," << mine[i].box.x2 << "," << mine[i].box.y2 << "]";
    }
  }
  EXPECT_GT(matched, 10) << model;
}

INSTANTIATE_TEST_SUITE_P(ShippedDetectors, ReferenceDetections,
                         ::testing::Values("picodet_s_416", "picodet_s_320", "yolox_nano", "nanodet_m_416",
                                           "fastestdet", "ssd_mobilenet_v1_075"));

}  // namespace
}  // namespace visearch
