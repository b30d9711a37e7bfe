// The end-to-end layouts (TensorFlow OD API, torchvision, DETR in one or two outputs, NMS-free YOLO) through
// every way a user reaches a model: `visearch detect`, `eval` (its detections.json), `compare` (measured
// beside a fast family, so drawn in the same chart), and the real server's /v1/detect and KServe v2 infer.
// The models are the generated graphs of tests/data/models (tools/make_test_models.py); the photo is a JPEG
// stored 64x128 with EXIF orientation 6, so upright 128x64, and every path must give exactly the boxes of
// end_to_end_expected.json in the upright image's pixels.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../integration/server_fixture.h"
#include "cli_runner.h"
#include "support/image_fixtures.h"
#include "support/temp_files.h"

namespace visearch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::run_cli;
using testing::shell_quote;

const std::string kModels = std::string(VISEARCH_SOURCE_DIR) + "/tests/data/models";
const std::vector<std::string> kLayouts = {"tf_od_tiny", "torchvision_tiny", "detr_tiny", "detr_split_tiny",
                                           "yolo_end2end_tiny"};

json expected_all() {
  std::ifstream in(kModels + "/end_to_end_expected.json");
  return json::parse(in);
}

// (label, score, x1, y1, x2, y2) of the objects at or over `min_score`, as a detection JSON lists them.
struct Seen {
  std::string label;
  double score;
  std::array<double, 4> box;
};

void expect_same(const std::vector<Seen>& got, const json& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("object " + std::to_string(i));
    EXPECT_EQ(got[i].label, want[i]["label"].get<std::string>());
    EXPECT_NEAR(got[i].score, want[i]["score"].get<double>(), 1e-4);
    const auto box = want[i]["box"].get<std::vector<double>>();
    for (std::size_t k = 0; k < 4; ++k) EXPECT_NEAR(got[i].box[k], box[k], 0.011) << "coordinate " << k;
  }
}

std::vector<Seen> from_detection_json(const json& doc) {
  std::vector<Seen> out;
  for (const json& o : doc.at("objects")) {
    const json& b = o.at("box");
    out.push_back({o.at("label").get<std::string>(),
                   o.at("score").get<double>(),
                   {b.at("x1").get<double>(), b.at("y1").get<double>(), b.at("x2").get<double>(),
                    b.at("y2").get<double>()}});
  }
  return out;
}

class EndToEndLayouts : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();  // NOLINT(cppcoreguidelines-owning-memory): suite lifetime
    const json expected = expected_all();
    const int w = expected["image"]["width"].get<int>();
    const int h = expected["image"]["height"].get<int>();
    // Upright 128x64, stored rotated with orientation 6 (the decoder turns it back).
    const std::vector<std::uint8_t> jpeg =
        test::make_jpeg_with_orientation(test::make_quadrant_image(w, h), 6);
    photo_ = (fs::path(dir_->path()) / "photo.jpg").string();
    std::ofstream(photo_, std::ios::binary)
        .write(reinterpret_cast<const char*>(jpeg.data()),  // NOLINT
               static_cast<std::streamsize>(jpeg.size()));
    std::string models;
    for (const std::string& m : kLayouts) models += (models.empty() ? "" : ",") + m;
    server_ = new testing::ServerProcess(  // NOLINT(cppcoreguidelines-owning-memory)
        {"--model-dir", kModels, "--models", models, "--workers", "1", "--threads-per-worker", "1"});
  }
  static void TearDownTestSuite() {
    delete server_;  // NOLINT(cppcoreguidelines-owning-memory)
    delete dir_;     // NOLINT(cppcoreguidelines-owning-memory)
    server_ = nullptr;
    dir_ = nullptr;
  }

  // data set folder for the current model: photo.jpg, photo.txt (normalised cx cy w h), classes.txt
  static std::string make_dataset(const std::string& model) {
    const json expected = expected_all();
    const double w = expected["image"]["width"].get<double>();
    const double h = expected["image"]["height"].get<double>();
    const fs::path ds = fs::path(dir_->path()) / ("ds_" + model);
    fs::create_directories(ds);
    fs::copy_file(photo_, ds / "photo.jpg", fs::copy_options::overwrite_existing);
    std::ofstream(ds / "classes.txt") << "apple\nbottle\ncup\n";
    std::ofstream labels(ds / "photo.txt");
    for (const json& o : expected["models"][model]) {
      const auto b = o["box"].get<std::vector<double>>();
      labels << o["class_id"].get<int>() << ' ' << (b[0] + b[2]) / 2 / w << ' ' << (b[1] + b[3]) / 2 / h
             << ' ' << (b[2] - b[0]) / w << ' ' << (b[3] - b[1]) / h << '\n';
    }
    return ds.string();
  }

  static test::TempDir* dir_;
  static testing::ServerProcess* server_;
  static std::string photo_;
};

test::TempDir* EndToEndLayouts::dir_ = nullptr;
testing::ServerProcess* EndToEndLayouts::server_ = nullptr;
std::string EndToEndLayouts::photo_;

TEST_P(EndToEndLayouts, DetectCliGivesTheEncodedBoxesInUprightPixels) {
  const auto r = run_cli("detect --model-dir " + shell_quote(kModels) + " --model " + GetParam() +
                         " --format json " + shell_quote(photo_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["image"]["width"], 128);  // upright: the stored JPEG is 64x128
  EXPECT_EQ(doc["image"]["height"], 64);
  expect_same(from_detection_json(doc), expected_all()["models"][GetParam()]);
}

TEST_P(EndToEndLayouts, HttpDetectAndKserveGiveTheSameBoxes) {
  ASSERT_TRUE(server_->ready()) << server_->log();
  const std::string bytes = testing::read_file(photo_);
  const json want = expected_all()["models"][GetParam()];
  auto c = server_->client();
  auto res = c.Post("/v1/detect?model=" + GetParam(), bytes, "image/jpeg");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json doc = json::parse(res->body);
  EXPECT_EQ(doc["model"], GetParam());
  EXPECT_EQ(doc["image"]["width"], 128);
  expect_same(from_detection_json(doc), want);

  const json request{
      {"id", "e2e"},
      {"inputs",
       {{{"name", "image"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {testing::base64(bytes)}}}}}};
  res = c.Post("/v2/models/" + GetParam() + "/infer", request.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json out = json::parse(res->body);
  std::vector<Seen> seen;
  json boxes;
  json scores;
  json labels;
  for (const json& o : out.at("outputs")) {
    if (o.at("name") == "boxes") boxes = o.at("data");
    if (o.at("name") == "scores") scores = o.at("data");
    if (o.at("name") == "labels") labels = o.at("data");
  }
  ASSERT_EQ(boxes.size(), 4 * scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    seen.push_back({labels[i].get<std::string>(),
                    scores[i].get<double>(),
                    {boxes[4 * i].get<double>(), boxes[4 * i + 1].get<double>(),
                     boxes[4 * i + 2].get<double>(), boxes[4 * i + 3].get<double>()}});
  }
  expect_same(seen, want);

  auto meta = c.Get("/v1/models/" + GetParam());
  ASSERT_TRUE(meta);
  ASSERT_EQ(meta->status, 200) << meta->body;
  const json input = json::parse(meta->body).at("input");
  if (GetParam() == "torchvision_tiny") {  // the tensor follows the image: the spec's bounds are listed
    EXPECT_EQ(input.at("resize"), "keep_aspect");
    EXPECT_EQ(input.at("min_side"), 60);
    EXPECT_EQ(input.at("max_side"), 100);
  }
}

TEST_P(EndToEndLayouts, EvalScoresTheSameBoxesAndFindsThemAll) {
  const std::string ds = make_dataset(GetParam());
  const std::string out = (fs::path(dir_->path()) / ("eval_" + GetParam())).string();
  const auto r = run_cli("eval --model-dir " + shell_quote(kModels) + " --model " + GetParam() +
                         " --dataset " + shell_quote(ds) + " --out " + shell_quote(out) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json metrics = json::parse(r.out);
  EXPECT_NEAR(metrics.at("stats").at("AP").get<double>(), 1.0, 1e-9) << r.out;
  // detections.json (COCO results, bbox = x, y, w, h) holds the boxes, among the low-score pairs eval's
  // 0.001 threshold lets through.
  std::ifstream in(fs::path(out) / "detections.json");
  const json dets = json::parse(in);
  std::vector<Seen> seen;
  std::ifstream gt_in(fs::path(out) / "ground_truth.json");
  const json gt = json::parse(gt_in);
  for (const json& d : dets) {
    if (d.at("score").get<double>() < 0.3) continue;
    std::string label;
    for (const json& c : gt.at("categories")) {
      if (c.at("id") == d.at("category_id")) label = c.at("name").get<std::string>();
    }
    const auto b = d.at("bbox").get<std::vector<double>>();
    seen.push_back({label, d.at("score").get<double>(), {b[0], b[1], b[0] + b[2], b[1] + b[3]}});
  }
  std::stable_sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) { return a.score > b.score; });
  expect_same(seen, expected_all()["models"][GetParam()]);
}

INSTANTIATE_TEST_SUITE_P(Generated, EndToEndLayouts, ::testing::ValuesIn(kLayouts));

TEST(EndToEndCompare, DrawsTheEndToEndFamiliesBesideAFastOne) {
  test::TempDir tmp;
  const json expected = expected_all();
  const fs::path ds = fs::path(tmp.path()) / "ds";
  fs::create_directories(ds);
  const Image image = test::make_quadrant_image(128, 64);
  const std::vector<std::uint8_t> jpeg = test::make_jpeg(image);
  std::ofstream(ds / "photo.jpg", std::ios::binary)
      .write(reinterpret_cast<const char*>(jpeg.data()),
             static_cast<std::streamsize>(jpeg.size()));  // NOLINT
  std::ofstream(ds / "classes.txt") << "apple\nbottle\ncup\n";
  std::ofstream(ds / "photo.txt") << "1 0.25 0.5 0.125 0.25\n";
  std::string models = "yolov8_tiny";
  for (const std::string& m : kLayouts) models += "," + m;
  const std::string out = (fs::path(tmp.path()) / "cmp").string();
  const auto r = run_cli("compare --model-dir " + shell_quote(kModels) + " --models " + models +
                         " --dataset " + shell_quote(ds.string()) + " --out " + shell_quote(out) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json doc = json::parse(r.out);
  ASSERT_EQ(doc.at("models").size(), kLayouts.size() + 1);
  const std::string svg = testing::read_file((fs::path(out) / "compare.svg").string());
  for (const json& m : doc.at("models")) {
    EXPECT_TRUE(m.at("ok").get<bool>()) << m.dump();
    EXPECT_NE(svg.find(m.at("model").get<std::string>()), std::string::npos) << m.at("model");
  }
}

}  // namespace
}  // namespace visearch
