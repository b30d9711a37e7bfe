// Ground truth built from a data set for a model (class mapping, split selection, flags), and one
// end-to-end evaluation of a real model (FastestDet, ~10 ms per image) on six coco128 images whose
// written COCO files re-score to the same numbers.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "dataset/class_map.h"
#include "dataset/coco.h"
#include "eval/coco_files.h"
#include "eval/model_eval.h"
#include "families/all_families.h"
#include "model/model_repository.h"

namespace visearch::eval {
namespace {

namespace fs = std::filesystem;
using dataset::Annotation;
using dataset::Dataset;
using dataset::ImageRecord;

const std::string kShared = VISEARCH_SHARED_DIR;

Annotation box(int class_id, double x1, double y1, double x2, double y2) {
  Annotation a;
  a.class_id = class_id;
  a.box = {x1, y1, x2, y2};
  return a;
}

Dataset voc_like() {
  Dataset ds;
  ds.classes = {"aeroplane", "person", "unicorn"};
  ImageRecord a;
  a.file = "a.jpg";
  a.path = "/data/a.jpg";
  a.width = 100;
  a.height = 100;
  a.split = "val";
  a.annotations = {box(0, 0, 0, 10, 10), box(1, 5, 5, 20, 20), box(2, 1, 1, 3, 3)};
  a.annotations[1].difficult = true;
  ImageRecord b = a;
  b.file = "b.jpg";
  b.annotations = {box(1, 0, 0, 50, 50)};
  b.annotations[0].iscrowd = true;
  b.annotations[0].area = 1234.0;
  ImageRecord broken = a;
  broken.file = "broken.jpg";
  broken.has_errors = true;
  ImageRecord missing = a;
  missing.file = "missing.jpg";
  missing.path.clear();
  ImageRecord train = a;
  train.file = "train.jpg";
  train.split = "train";
  ImageRecord background = a;
  background.file = "empty.jpg";
  background.labelled = false;
  background.annotations.clear();
  ds.images = {a, b, broken, missing, train, background};
  return ds;
}

TEST(SelectSplit, PrefersRequestedThenOnlyThenVal) {
  Dataset ds = voc_like();
  EXPECT_EQ(*select_split(ds, ""), std::optional<std::string>("val"));
  EXPECT_EQ(*select_split(ds, "train"), std::optional<std::string>("train"));
  EXPECT_EQ(*select_split(ds, "all"), std::optional<std::string>());
  auto unknown = select_split(ds, "test");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("val"), std::string::npos);
  for (ImageRecord& image : ds.images) image.split = "train2017";
  ds.split_aliases["val"] = "train2017";
  EXPECT_EQ(*select_split(ds, ""), std::optional<std::string>("train2017"));
  EXPECT_EQ(*select_split(ds, "val"), std::optional<std::string>("val"));
}

TEST(BuildGroundTruth, MapsClassesAndKeepsFlags) {
  const std::vector<std::string> labels{"person", "bicycle", "airplane"};
  ModelEvalOptions options;
  options.class_map = *dataset::load_default_class_map();
  options.difficult_as_ignore = true;
  const Dataset ds = voc_like();
  auto gt = build_ground_truth(ds, labels, options);
  ASSERT_TRUE(gt) << gt.error().message;
  EXPECT_EQ(gt->split_label, "val");
  ASSERT_EQ(gt->images.size(), 3U);  // a, b, background; broken and missing are left out
  EXPECT_EQ(gt->input.image_ids, (std::vector<std::int64_t>{1, 2, 3}));
  ASSERT_EQ(gt->input.categories.size(), 2U);
  EXPECT_EQ(gt->input.categories[0].id, 1);  // aeroplane -> class index 0 + 1
  EXPECT_EQ(gt->input.categories[0].name, "airplane");
  EXPECT_EQ(gt->input.categories[1].name, "person");
  EXPECT_EQ(gt->model_classes, (std::vector<int>{0, 2}));
  ASSERT_EQ(gt->input.ground_truth.size(), 3U);  // the unicorn is left out
  EXPECT_TRUE(gt->input.ground_truth[1].ignore);
  EXPECT_TRUE(gt->input.ground_truth[2].iscrowd);
  EXPECT_DOUBLE_EQ(gt->input.ground_truth[2].area, 1234.0);
  EXPECT_DOUBLE_EQ(gt->input.ground_truth[0].area, 100.0);
  EXPECT_EQ(gt->input.ground_truth[0].id, 1);
  EXPECT_EQ(gt->match.unmatched, (std::vector<std::string>{"unicorn"}));
  std::size_t warnings = 0;
  for (const auto& d : gt->diagnostics) warnings += d.severity == dataset::Severity::kWarning ? 1 : 0;
  EXPECT_EQ(warnings, 3U);  // broken, missing, unicorn
  // Written ground truth parses back as COCO.
  const std::string text = dataset::dump_coco_json(ground_truth_to_coco_json(*gt));
  auto parsed = dataset::parse_coco_json(text, "gt.json");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->annotations.size(), 3U);
}

TEST(BuildGroundTruth, NoCommonClassIsAnError) {
  ModelEvalOptions options;
  const Dataset ds = voc_like();
  auto gt = build_ground_truth(ds, {"car"}, options);
  ASSERT_FALSE(gt);
  EXPECT_NE(gt.error().message.find("--class-map"), std::string::npos);
}

TEST(EvaluateModel, FastestDetOnSixCoco128ImagesAndTheWrittenFilesRescoreTheSame) {
  const fs::path coco128 = fs::path(kShared) / "data/coco128-train2017";
  auto repo = ModelRepository::with_defaults({});
  auto spec = repo.find_spec("fastestdet");
  if (!fs::exists(coco128) || !spec || !repo.status(spec->weights).present)
    GTEST_SKIP() << "coco128 or FastestDet weights absent";
  char tmpl[] = "/tmp/visearch_eval_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir(tmpl);
  {
    std::ofstream yaml(dir / "data.yaml");
    yaml << "path: .\ntrain: images/train2017\nval: images/train2017\nnames:\n";
    std::ifstream src(coco128 / "data.yaml");
    std::string line;
    bool in_names = false;
    while (std::getline(src, line)) {
      if (in_names) yaml << line << "\n";
      if (line.rfind("names:", 0) == 0) in_names = true;
    }
  }
  const std::vector<std::string> stems{"000000000009", "000000000025", "000000000030",
                                       "000000000034", "000000000036", "000000000042"};
  for (const std::string& stem : stems) {
    fs::create_directories(dir / "images/train2017");
    fs::create_directories(dir / "labels/train2017");
    fs::create_symlink(coco128 / "images/train2017" / (stem + ".jpg"),
                       dir / "images/train2017" / (stem + ".jpg"));
    fs::copy_file(coco128 / "labels/train2017" / (stem + ".txt"), dir / "labels/train2017" / (stem + ".txt"));
  }
  auto ds = dataset::load_dataset(dir.string());
  ASSERT_TRUE(ds) << ds.error().message;
  FamilyRegistry families;
  register_all_families(families);
  RuntimeOptions runtime;
  runtime.intra_op_threads = 1;
  auto detector = Detector::load(*spec, repo, families, runtime);
  ASSERT_TRUE(detector) << detector.error().message;
  ModelEvalOptions options;
  options.score_threshold = 0.01F;
  std::size_t progress_calls = 0;
  options.progress = [&progress_calls](std::size_t, std::size_t) { ++progress_calls; };
  auto result = evaluate_model(**detector, *ds, options);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(progress_calls, 6U);
  EXPECT_EQ(result->metrics.images, 6U);
  EXPECT_EQ(result->detect_ms.size(), 6U);
  EXPECT_GT(result->p50_ms(), 0.0);
  EXPECT_GT(result->metrics.stats[0], 0.05);
  EXPECT_LT(result->metrics.stats[0], 0.9);
  EXPECT_TRUE(result->ground_truth.model_classes.empty());  // all 80 classes match
  // Same numbers from the files pycocotools would read.
  const fs::path gt_file = dir / "ground_truth.json";
  const fs::path dt_file = dir / "detections.json";
  std::ofstream(gt_file) << dataset::dump_coco_json(ground_truth_to_coco_json(result->ground_truth));
  std::ofstream(dt_file) << detections_to_coco_json(result->ground_truth.input.detections).dump();
  auto loaded = load_coco_evaluation(gt_file.string(), dt_file.string());
  ASSERT_TRUE(loaded) << loaded.error().message;
  auto again = evaluate_bbox(loaded->input);
  ASSERT_TRUE(again) << again.error().message;
  for (std::size_t i = 0; i < 12; ++i) EXPECT_DOUBLE_EQ(again->stats[i], result->metrics.stats[i]) << i;
  const auto json = evaluation_to_json(*result, dir.string(), options);
  EXPECT_EQ(json["model"], "fastestdet");
  EXPECT_EQ(json["split"], "train2017");
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace visearch::eval
