// Batched tiling: the passes of a tiled image share one forward pass when the graph's input declares a
// batch dimension that allows it. The models are one generated graph (tools/make_test_models.py
// grid_model()) whose boxes follow its input, saved with a dynamic batch, a fixed batch of 1 (as every
// shipped detector) and a fixed batch of 4. Real ONNX Runtime sessions; the forward passes are counted by
// the session itself.
#include <gtest/gtest.h>

#include "families/all_families.h"
#include "model/detector.h"

namespace visearch {
namespace {

std::unique_ptr<Detector> load(const std::string& name, int max_batch = 0) {
  const std::string dir = std::string(VISEARCH_TEST_DATA_DIR) + "/models";
  const ModelRepository repo({dir}, {dir});
  auto spec = repo.find_spec(name);
  EXPECT_TRUE(spec) << spec.error().message;
  if (!spec) return nullptr;
  if (max_batch > 0) spec->preprocess.max_batch = max_batch;
  auto det = Detector::load(*spec, repo, shipped_families(), RuntimeOptions{1, false});
  EXPECT_TRUE(det) << det.error().message;
  return det ? std::move(*det) : nullptr;
}

void fill(Image& image, int x1, int y1, int x2, int y2, std::array<std::uint8_t, 3> rgb) {
  for (int y = y1; y < y2; ++y) {
    for (int x = x1; x < x2; ++x) std::copy(rgb.begin(), rgb.end(), image.row(y) + x * Image::kChannels);
  }
}

// 256x128, black, with a red square on the 8-pixel grid of the tiles' cells, a green bar across the
// tiles' edges and a blue block larger than a tile.
Image scene() {
  Image image = Image::allocate(256, 128);
  fill(image, 0, 0, 256, 128, {0, 0, 0});
  fill(image, 40, 16, 72, 48, {255, 0, 0});
  fill(image, 100, 60, 180, 76, {0, 255, 0});
  fill(image, 176, 40, 252, 124, {0, 0, 255});
  return image;
}

// 64x64 tiles at overlap 0.25 on 256x128: columns at 0, 48, 96, 144, 192 and rows at 0, 32, 64, so 15
// tiles and 16 passes with the whole image.
DetectOptions tiled() {
  DetectOptions options;
  options.tile.mode = TileMode::kFixed;
  options.tile.size = Size{64, 64};
  return options;
}

struct Counted {
  DetectOutput out;
  std::uint64_t runs = 0;  // the session's own count of forward passes during detect()
};

Counted detect(const Detector& detector, const DetectOptions& options) {
  const std::uint64_t before = detector.session_runs();
  auto out = detector.detect(scene(), options);
  EXPECT_TRUE(out) << out.error().message;
  return Counted{out ? std::move(*out) : DetectOutput{}, detector.session_runs() - before};
}

void expect_same(const std::vector<Detection>& a, const std::vector<Detection>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].box, b[i].box) << i;
    EXPECT_EQ(a[i].class_id, b[i].class_id) << i;
    EXPECT_EQ(a[i].score, b[i].score) << i;
  }
}

TEST(BatchedTiling, TheBatchComesFromTheGraphsDeclaredInput) {
  EXPECT_EQ(load("grid_batch_tiny")->max_batch(), kMaxBatch);  // dynamic
  EXPECT_EQ(load("grid_tiny")->max_batch(), 1U);               // [1, 3, 32, 32]
  EXPECT_EQ(load("grid_batch4_tiny")->max_batch(), 4U);        // [4, 3, 32, 32]
  EXPECT_EQ(load("grid_batch_tiny", 3)->max_batch(), 3U);      // the spec's input.max_batch
  // A chw input has no batch axis; a spec's max_batch that the graph cannot take is refused at load.
  EXPECT_EQ(load("torchvision_tiny")->max_batch(), 1U);
  const std::string dir = std::string(VISEARCH_TEST_DATA_DIR) + "/models";
  const ModelRepository repo({dir}, {dir});
  for (const auto& [name, max_batch] : {std::pair{"grid_tiny", 2}, std::pair{"grid_batch4_tiny", 2}}) {
    auto spec = repo.find_spec(name);
    ASSERT_TRUE(spec);
    spec->preprocess.max_batch = max_batch;
    auto det = Detector::load(*spec, repo, shipped_families(), RuntimeOptions{1, false});
    ASSERT_FALSE(det) << name;
    EXPECT_EQ(det.error().code, ErrorCode::kInvalidSpec);
    EXPECT_NE(det.error().message.find("max_batch"), std::string::npos) << det.error().message;
  }
}

TEST(BatchedTiling, OneForwardPerBatchGivesExactlyTheBoxesOfOneForwardPerPass) {
  auto batched = load("grid_batch_tiny");
  auto single = load("grid_tiny");
  auto unbatched = load("grid_batch_tiny", 1);
  auto three = load("grid_batch_tiny", 3);
  auto four = load("grid_batch4_tiny");
  ASSERT_TRUE(batched && single && unbatched && three && four);

  const Counted one_by_one = detect(*single, tiled());
  EXPECT_EQ(one_by_one.out.passes, 16U);
  EXPECT_EQ(one_by_one.out.forwards, 16U);
  EXPECT_EQ(one_by_one.runs, 16U);
  ASSERT_FALSE(one_by_one.out.detections.empty());
  // The red square's top-left cell, seen whole by the first tile: one 8x8 box of score 1 in image pixels.
  bool red = false;
  for (const Detection& d : one_by_one.out.detections) {
    if (d.class_id == 0 && d.box == ImageBox{40.F, 16.F, 48.F, 24.F}) red = std::abs(d.score - 1.F) < 1e-5F;
  }
  EXPECT_TRUE(red);

  // Dynamic batch: 16 passes of one shape in batches of at most 8, so two forward passes.
  const Counted two = detect(*batched, tiled());
  EXPECT_EQ(two.out.passes, 16U);
  EXPECT_EQ(two.out.forwards, 2U);
  EXPECT_EQ(two.runs, 2U);
  expect_same(two.out.detections, one_by_one.out.detections);

  // The same graph with the spec's max_batch 1, and 3 (batches of 3, 3, 3, 3, 3, 1).
  const Counted off = detect(*unbatched, tiled());
  EXPECT_EQ(off.runs, 16U);
  expect_same(off.out.detections, one_by_one.out.detections);
  const Counted threes = detect(*three, tiled());
  EXPECT_EQ(threes.runs, 6U);
  EXPECT_EQ(threes.out.forwards, 6U);
  expect_same(threes.out.detections, one_by_one.out.detections);

  // A fixed batch of 4: four forward passes of four passes each.
  const Counted fours = detect(*four, tiled());
  EXPECT_EQ(fours.runs, 4U);
  expect_same(fours.out.detections, one_by_one.out.detections);

  // Untiled, each model runs once: the fixed batch of 4 with three blank images after the photo, whose
  // outputs are never read.
  DetectOptions whole;
  const Counted alone = detect(*single, whole);
  EXPECT_EQ(alone.runs, 1U);
  EXPECT_EQ(alone.out.passes, 1U);
  EXPECT_EQ(alone.out.forwards, 1U);
  for (const Detector* det : {batched.get(), four.get()}) {
    const Counted r = detect(*det, whole);
    EXPECT_EQ(r.runs, 1U);
    expect_same(r.out.detections, alone.out.detections);
  }
}

// A graph that declares a dynamic batch but keeps a batch of 1 inside (a Reshape to [1, ...]): the batched
// forward pass fails and the error names the spec field that turns batching off; with it, the same boxes.
TEST(BatchedTiling, AGraphThatCannotRunItsDeclaredBatchIsToldToSetMaxBatch) {
  auto false_batch = load("grid_false_batch_tiny");
  auto single = load("grid_tiny");
  ASSERT_TRUE(false_batch && single);
  EXPECT_EQ(false_batch->max_batch(), kMaxBatch);
  EXPECT_TRUE(false_batch->detect(scene(), DetectOptions{}));  // untiled: a batch of 1
  auto failed = false_batch->detect(scene(), tiled());
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kInference);
  EXPECT_NE(failed.error().message.find("\"max_batch\": 1"), std::string::npos) << failed.error().message;
  auto fixed = load("grid_false_batch_tiny", 1);
  ASSERT_TRUE(fixed);
  const Counted one_by_one = detect(*fixed, tiled());
  EXPECT_EQ(one_by_one.runs, 16U);
  expect_same(one_by_one.out.detections, detect(*single, tiled()).out.detections);
}

TEST(BatchedTiling, TheBatchIsSlicedPerItemAcrossEveryOutput) {
  Tensor boxes{"boxes", {3, 2, 2}, {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}};
  Tensor count{"count", {3}, {5, 6, 7}};
  auto second = batch_item({boxes, count}, 1, 3);
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_EQ(second->size(), 2U);
  EXPECT_EQ((*second)[0].name, "boxes");
  EXPECT_EQ((*second)[0].shape, (std::vector<std::int64_t>{1, 2, 2}));
  EXPECT_EQ((*second)[0].data, (std::vector<float>{10, 11, 12, 13}));
  EXPECT_EQ((*second)[1].shape, (std::vector<std::int64_t>{1}));
  EXPECT_EQ((*second)[1].data, (std::vector<float>{6}));
  // An output without the batch as its first dimension: the graph does not batch as declared.
  Tensor shared{"anchors", {2, 4}, std::vector<float>(8, 0.F)};
  auto refused = batch_item({boxes, shared}, 0, 3);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInference);
  EXPECT_NE(refused.error().message.find("anchors"), std::string::npos);
  EXPECT_NE(refused.error().message.find("max_batch"), std::string::npos);
}

TEST(BatchedTiling, TheSpecsMaxBatchIsChecked) {
  nlohmann::json doc = {{"name", "m"},
                        {"family", "yolov8"},
                        {"weights", {{"file", "m.onnx"}}},
                        {"input", {{"width", 32}, {"height", 32}, {"max_batch", 4}}},
                        {"labels", {"a"}}};
  auto spec = parse_model_spec(doc, "m.json");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->preprocess.max_batch, 4);
  for (const nlohmann::json& bad :
       {nlohmann::json(0), nlohmann::json(65), nlohmann::json(2.5), nlohmann::json("4")}) {
    doc["input"]["max_batch"] = bad;
    auto refused = parse_model_spec(doc, "m.json");
    ASSERT_FALSE(refused) << bad.dump();
    EXPECT_NE(refused.error().message.find("max_batch"), std::string::npos);
  }
}

}  // namespace
}  // namespace visearch
