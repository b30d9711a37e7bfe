// Tiling (issue 16) through the real binary and the real server, with the default detector:
//  - a tile's boxes map back exactly: a 640x640 crop of bus.jpg is pasted at (640, 640) into a grey
//    1920x1280 canvas (PNG, lossless), so with --tile 640x640 --tile-overlap 0 one tile holds exactly
//    the crop's pixels; every object `detect` finds on the crop alone comes back from the tiled canvas
//    with the same label and score and the same box shifted by (640, 640);
//  - `eval --tile` scores those tiled detections (the pasted people are found at full size);
//  - a bad --tile / --tile-overlap is a usage error (exit 2); over HTTP a bad `tile` is 400, and a good
//    one tiles /v1/detect and KServe v2 infer alike.
//  - a graph with a dynamic batch (tests/data/models/grid_batch_tiny) runs the tiles batched and gives
//    the same objects as the same graph with a batch of 1 (grid_tiny), through `detect`.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../integration/server_fixture.h"
#include "cli_runner.h"
#include "io/image_decode.h"
#include "support/image_fixtures.h"
#include "support/temp_files.h"

namespace visearch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::run_cli;
using testing::shell_quote;

const std::string kShared = VISEARCH_SHARED_DIR;
const std::string kModels = kShared + "/models";
constexpr int kCropX = 0;
constexpr int kCropY = 300;
constexpr int kSide = 640;
constexpr int kPasteX = 640;
constexpr int kPasteY = 640;

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(
          reinterpret_cast<const char*>(bytes.data()),  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
          static_cast<std::streamsize>(bytes.size()));
}

class TilingCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();  // NOLINT(cppcoreguidelines-owning-memory): suite lifetime
    const std::string bytes = testing::read_file(kShared + "/data/samples/bus.jpg");
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the file's chars are its bytes
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    auto decoded = decode_image(std::span<const std::uint8_t>(data, bytes.size()), DecodeLimits{});
    ASSERT_TRUE(decoded) << decoded.error().message;
    const Image& bus = decoded->image;
    Image crop = Image::allocate(kSide, kSide);
    Image canvas = test::make_solid_image(3 * kSide, 2 * kSide, test::Rgb{128, 128, 128});
    for (int y = 0; y < kSide; ++y) {
      const std::uint8_t* from = bus.row(kCropY + y) + static_cast<std::size_t>(kCropX) * 3;
      std::copy_n(from, crop.row_bytes(), crop.row(y));
      std::copy_n(from, crop.row_bytes(), canvas.row(kPasteY + y) + static_cast<std::size_t>(kPasteX) * 3);
    }
    crop_ = (fs::path(dir_->path()) / "crop.png").string();
    canvas_ = (fs::path(dir_->path()) / "canvas.png").string();
    write_bytes(crop_, test::make_png(crop));
    write_bytes(canvas_, test::make_png(canvas));
  }
  static void TearDownTestSuite() {
    delete dir_;  // NOLINT(cppcoreguidelines-owning-memory)
    dir_ = nullptr;
  }

  static json detect(const std::string& flags, const std::string& image) {
    const auto r = run_cli("detect --model-dir " + shell_quote(kModels) +
                           " --model picodet_s_416 --format json " + flags + " " + shell_quote(image));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  }

  static test::TempDir* dir_;
  static std::string crop_;
  static std::string canvas_;
};

test::TempDir* TilingCli::dir_ = nullptr;
std::string TilingCli::crop_;
std::string TilingCli::canvas_;

TEST_F(TilingCli, BoxesFromATileMapBackExactly) {
  const json alone = detect("--score-threshold 0.5", crop_);
  const json tiled = detect("--score-threshold 0.5 --tile 640x640 --tile-overlap 0", canvas_);
  ASSERT_FALSE(alone.empty());
  ASSERT_FALSE(tiled.empty());
  EXPECT_EQ(tiled["tiles"], 6);  // 3 x 2 tiles of 640, no overlap, besides the whole canvas
  EXPECT_EQ(tiled["image"]["width"], 3 * kSide);
  std::size_t checked = 0;
  for (const json& o : alone["objects"]) {
    const json& b = o["box"];
    // A box on the crop's border touches the tile's edges, where the merge rule may prefer the whole pass.
    if (b["x1"].get<double>() < 3 || b["y1"].get<double>() < 3 || b["x2"].get<double>() > kSide - 3 ||
        b["y2"].get<double>() > kSide - 3) {
      continue;
    }
    ++checked;
    bool found = false;
    for (const json& t : tiled["objects"]) {
      const json& tb = t["box"];
      if (t["label"] == o["label"] && t["score"] == o["score"] &&
          std::abs(tb["x1"].get<double>() - b["x1"].get<double>() - kPasteX) < 0.011 &&
          std::abs(tb["y1"].get<double>() - b["y1"].get<double>() - kPasteY) < 0.011 &&
          std::abs(tb["x2"].get<double>() - b["x2"].get<double>() - kPasteX) < 0.011 &&
          std::abs(tb["y2"].get<double>() - b["y2"].get<double>() - kPasteY) < 0.011) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << o.dump() << "\nnot in\n" << tiled["objects"].dump();
  }
  EXPECT_GE(checked, 2U) << alone.dump();
  // Every tiled box lies in the canvas.
  for (const json& t : tiled["objects"]) {
    EXPECT_GE(t["box"]["x1"].get<double>(), 0);
    EXPECT_LE(t["box"]["x2"].get<double>(), 3 * kSide);
    EXPECT_LE(t["box"]["y2"].get<double>(), 2 * kSide);
  }
  // Off (the default) and auto on an image under twice the input: one pass, no "tiles" member.
  EXPECT_FALSE(detect("", crop_).contains("tiles"));
  EXPECT_FALSE(detect("--tile auto", crop_).contains("tiles"));
  // Tiles of 624 (1.5 x 416), 25 % overlap (stride <= 468): ceil(1296 / 468) + 1 = 4 columns,
  // ceil(656 / 468) + 1 = 3 rows.
  EXPECT_EQ(detect("--tile auto", canvas_)["tiles"], 12);
}

// eval --tile: the canvas as a one-image data set whose ground truth is the people `detect` finds on the crop
// alone, shifted to where the crop was pasted. The tiled run sees them at full size and finds them all.
TEST_F(TilingCli, EvalScoresTheTiledDetections) {
  const json alone = detect("--score-threshold 0.5 --classes person", crop_);
  ASSERT_FALSE(alone.empty());
  const fs::path ds = fs::path(dir_->path()) / "ds";
  fs::create_directories(ds);
  fs::copy_file(canvas_, ds / "canvas.png", fs::copy_options::overwrite_existing);
  std::ofstream(ds / "classes.txt") << "person\n";
  std::ofstream labels(ds / "canvas.txt");
  std::size_t people = 0;
  const double w = 3.0 * kSide;
  const double h = 2.0 * kSide;
  for (const json& o : alone["objects"]) {
    const json& b = o["box"];
    const double x1 = b["x1"].get<double>() + kPasteX;
    const double y1 = b["y1"].get<double>() + kPasteY;
    const double x2 = b["x2"].get<double>() + kPasteX;
    const double y2 = b["y2"].get<double>() + kPasteY;
    labels << "0 " << (x1 + x2) / 2 / w << ' ' << (y1 + y2) / 2 / h << ' ' << (x2 - x1) / w << ' '
           << (y2 - y1) / h << '\n';
    ++people;
  }
  labels.close();
  ASSERT_GE(people, 2U);
  const auto eval = [&](const std::string& flags) {
    const auto r =
        run_cli("eval --model-dir " + shell_quote(kModels) + " --model picodet_s_416 --json --dataset " +
                shell_quote(ds.string()) + " " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  };
  const json tiled = eval("--tile 640x640 --tile-overlap 0");
  const json whole = eval("");
  ASSERT_FALSE(tiled.empty());
  ASSERT_FALSE(whole.empty());
  EXPECT_EQ(tiled["settings"]["tile"], "640x640");
  EXPECT_FALSE(whole["settings"].contains("tile"));
  EXPECT_GE(tiled["stats"]["AP50"].get<double>(), 0.99) << tiled.dump();
  EXPECT_GE(tiled["stats"]["AP"].get<double>(), 0.9) << tiled.dump();
  EXPECT_GT(tiled["stats"]["AP"].get<double>(), whole["stats"]["AP"].get<double>()) << whole.dump();

  // compare --tile: the same tiled AP, beside the untiled run's.
  const auto compare = [&](const std::string& flags) {
    const auto r =
        run_cli("compare --model-dir " + shell_quote(kModels) + " --models picodet_s_416 --json --dataset " +
                shell_quote(ds.string()) + " " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const json doc = r.exit_code == 0 ? json::parse(r.out) : json::object();
    return doc.contains("models") && !doc["models"].empty() ? doc["models"][0] : json::object();
  };
  const json compared_tiled = compare("--tile 640x640 --tile-overlap 0");
  const json compared_whole = compare("");
  ASSERT_TRUE(compared_tiled.value("ok", false)) << compared_tiled.dump();
  EXPECT_NEAR(compared_tiled["AP"].get<double>(), tiled["stats"]["AP"].get<double>(), 1e-9)
      << compared_tiled.dump();
  EXPECT_NEAR(compared_whole["AP"].get<double>(), whole["stats"]["AP"].get<double>(), 1e-9)
      << compared_whole.dump();
}

TEST_F(TilingCli, BatchedTilesGiveTheSameObjectsAsOneByOne) {
  // Black, with red, green and blue blocks that the grid graphs score per 4x4-pixel cell.
  Image scene = test::make_solid_image(256, 128, test::Rgb{0, 0, 0});
  const auto fill = [&scene](int x1, int y1, int x2, int y2, std::array<std::uint8_t, 3> rgb) {
    for (int y = y1; y < y2; ++y) {
      for (int x = x1; x < x2; ++x) std::copy(rgb.begin(), rgb.end(), scene.row(y) + x * 3);
    }
  };
  fill(40, 16, 72, 48, {255, 0, 0});
  fill(100, 60, 180, 76, {0, 255, 0});
  fill(176, 40, 252, 124, {0, 0, 255});
  const std::string path = (fs::path(dir_->path()) / "scene.png").string();
  write_bytes(path, test::make_png(scene));
  const std::string models = std::string(VISEARCH_SOURCE_DIR) + "/tests/data/models";
  const auto run = [&](const std::string& model) {
    const auto r = run_cli("detect --model-dir " + shell_quote(models) + " --model " + model +
                           " --format json --tile 64x64 " + shell_quote(path));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  };
  const json batched = run("grid_batch_tiny");
  const json single = run("grid_tiny");
  ASSERT_FALSE(batched.empty());
  ASSERT_FALSE(single.empty());
  EXPECT_EQ(batched["tiles"], 15);
  EXPECT_EQ(single["tiles"], 15);
  EXPECT_GE(batched["objects"].size(), 10U);
  EXPECT_EQ(batched["objects"], single["objects"]);
}

TEST_F(TilingCli, ABadTileValueIsAUsageError) {
  for (const char* flags : {"--tile 0x0", "--tile big", "--tile 640", "--tile-overlap 0.95",
                            "--tile-overlap x", "--tile 99999x640"}) {
    const auto r =
        run_cli("detect --model-dir " + shell_quote(kModels) + " " + flags + " " + shell_quote(crop_));
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.err;
    EXPECT_NE(r.err.find("--tile"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  const auto r = run_cli("eval --model-dir " + shell_quote(kModels) + " --tile 1x1 --dataset " +
                         shell_quote(kShared + "/data/coco128-train2017"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(TilingCli, HttpDetectAndKserveTakeTheTileParameter) {
  testing::ServerProcess server({"--model-dir", kModels, "--models", "picodet_s_416", "--workers", "1",
                                 "--threads-per-worker", "1", "--solo-threads", "0"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  const std::string png = testing::read_file(canvas_);
  auto res = c.Post("/v1/detect?tile=640x640&tile_overlap=0&score_threshold=0.5", png, "image/png");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json doc = json::parse(res->body);
  EXPECT_EQ(doc["tiles"], 6);
  const json cli = detect("--score-threshold 0.5 --tile 640x640 --tile-overlap 0", canvas_);
  EXPECT_EQ(doc["objects"], cli["objects"]);

  res = c.Post("/v1/detect?tile=640x64O", png, "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "invalid_argument");
  EXPECT_NE(res->body.find("tile"), std::string::npos);
  res = c.Post("/v1/detect", json{{"image", testing::base64(png)}, {"tile_overlap", 3}}.dump(),
               "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  // Valid sizes that would need thousands of passes: refused, not run (a worker would be held for long).
  res = c.Post("/v1/detect?tile=32x32&tile_overlap=0.9", png, "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_NE(res->body.find("more than 100"), std::string::npos) << res->body;
  EXPECT_EQ(c.Post("/v1/detect?tile=640x640&tile_overlap=0&score_threshold=0.5", png, "image/png")->status,
            200);

  json request{
      {"inputs",
       {{{"name", "image"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {testing::base64(png)}}}}},
      {"parameters", {{"tile", "640x640"}, {"tile_overlap", 0}, {"score_threshold", 0.5}}}};
  res = c.Post("/v2/models/picodet_s_416/infer", request.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  std::size_t n = 0;
  const json infer = json::parse(res->body);
  for (const json& o : infer.at("outputs")) {
    if (o.at("name") == "scores") n = o.at("data").size();
  }
  EXPECT_EQ(n, doc["objects"].size());
  request["parameters"]["tile"] = "sixteen";
  res = c.Post("/v2/models/picodet_s_416/infer", request.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
}

}  // namespace
}  // namespace visearch
