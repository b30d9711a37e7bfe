// Pre-labels with the real default detector (picodet_s_416 from the shared models) and the background
// "pre-label all unlabelled" job: progress, stored proposals, status changes, failures and cancellation.
#include <gtest/gtest.h>

#include <filesystem>

#include "labeling/label_project.h"
#include "labeling/prelabel.h"
#include "labeling/prelabel_job.h"
#include "test_util.h"

namespace visearch::labeling {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const fs::path kCoco128 =
    fs::path(VISEARCH_SHARED_DIR) / "data" / "coco128-train2017" / "images" / "train2017";

// A raw folder with a few coco128 photos (a bus scene, a giraffe, ...).
void copy_photos(const TempDir& dir, const std::vector<std::string>& stems) {
  for (const std::string& stem : stems)
    fs::copy_file(kCoco128 / (stem + ".jpg"), dir.path() / (stem + ".jpg"));
}

const Detector& picodet() {
  static const std::unique_ptr<Detector> detector = [] {
    auto loaded = load_detector("picodet_s_416", {}, 1);
    if (!loaded) {
      ADD_FAILURE() << loaded.error().message;
      return std::unique_ptr<Detector>();
    }
    return std::move(*loaded);
  }();
  return *detector;
}

TEST(Prelabel, MapsDetectionsToTheDataSetClasses) {
  const Detector& detector = picodet();
  // 000000000009: bowls, broccoli, an orange... keep only "bowl" (as "dish") and "broccoli".
  auto file = parse_label_map(R"({"map": {"bowl": "dish"}, "same_names": true})", "m.json");
  ASSERT_TRUE(file);
  const std::vector<std::string> classes{"dish", "broccoli"};
  auto mapping = LabelMapping::build(detector.spec().name, detector.spec().labels, classes, &*file);
  ASSERT_TRUE(mapping) << mapping.error().message;
  auto result = propose_file(detector, (kCoco128 / "000000000009.jpg").string(), *mapping);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->image.width, 640);
  ASSERT_FALSE(result->proposals.empty());
  EXPECT_GT(result->unmapped, 0U);
  bool dish = false;
  for (std::size_t i = 0; i < result->proposals.size(); ++i) {
    const Proposal& p = result->proposals[i];
    EXPECT_GE(p.score, kDefaultScoreFloor);
    if (i > 0) {
      EXPECT_LE(p.score, result->proposals[i - 1].score);
    }
    EXPECT_TRUE(p.detector_label == "bowl" || p.detector_label == "broccoli") << p.detector_label;
    EXPECT_EQ(p.box.class_id, p.detector_label == "bowl" ? 0 : 1);
    EXPECT_GE(p.box.x1, 0);
    EXPECT_LE(p.box.x2, 640);
    dish = dish || p.box.class_id == 0;
  }
  EXPECT_TRUE(dish);
}

TEST(PrelabelJob, PrelabelsAllUnlabelledImages) {
  TempDir dir;
  copy_photos(dir, {"000000000009", "000000000025", "000000000030"});
  auto project = LabelProject::open({dir.str(), dataset::DatasetFormat::kYolo, {}, picodet().spec().labels});
  ASSERT_TRUE(project) << project.error().message;
  LabelProject& p = **project;
  // One image is already reviewed: the job must leave it alone.
  const std::string reviewed = p.list()[0].id;
  ASSERT_TRUE(p.save(reviewed, R"({"version": 1, "boxes": []})"));
  auto mapping = LabelMapping::build("picodet_s_416", picodet().spec().labels, p.classes(), nullptr);
  ASSERT_TRUE(mapping);
  PrelabelJob job(
      p, "picodet_s_416", [] { return load_detector("picodet_s_416", {}, 1); }, *mapping);
  EXPECT_EQ(job.progress().state, "idle");
  ASSERT_TRUE(job.start());
  ASSERT_TRUE(job.wait_idle(60000));
  const JobProgress progress = job.progress();
  EXPECT_EQ(progress.state, "done");
  EXPECT_EQ(progress.total, 2U);
  EXPECT_EQ(progress.done, 2U);
  EXPECT_EQ(progress.failed, 0U);
  EXPECT_GT(progress.proposals, 0U);
  EXPECT_FALSE(progress.finished_at.empty());
  const ProjectCounts counts = p.counts();
  EXPECT_EQ(counts.pre_labelled, 2U);
  EXPECT_EQ(counts.reviewed, 1U);
  EXPECT_EQ(counts.unlabelled, 0U);
  auto detail = p.image(reviewed);
  ASSERT_TRUE(detail);
  EXPECT_TRUE(detail->proposals.empty());
  // Nothing left to do: a second run finishes at once.
  ASSERT_TRUE(job.start());
  ASSERT_TRUE(job.wait_idle(10000));
  EXPECT_EQ(job.progress().total, 0U);
}

TEST(PrelabelJob, ReportsAModelThatCannotLoadAndUnreadableImages) {
  TempDir dir;
  testing::write_text(dir.path() / "broken.jpg", "not a jpeg");
  auto project = LabelProject::open({dir.str(), dataset::DatasetFormat::kYolo, {"x"}, {}});
  ASSERT_TRUE(project) << project.error().message;
  LabelMapping mapping;
  PrelabelJob failing(
      **project, "nope", [] { return load_detector("no_such_model", {}, 1); }, mapping);
  ASSERT_TRUE(failing.start());
  ASSERT_TRUE(failing.wait_idle(10000));
  EXPECT_EQ(failing.progress().state, "failed");
  EXPECT_NE(failing.progress().error.find("cannot load model nope"), std::string::npos);

  PrelabelJob job(
      **project, "picodet_s_416", [] { return load_detector("picodet_s_416", {}, 1); }, mapping);
  ASSERT_TRUE(job.start());
  ASSERT_TRUE(job.wait_idle(30000));
  EXPECT_EQ(job.progress().state, "done");
  EXPECT_EQ(job.progress().failed, 1U);
  EXPECT_NE(job.progress().error.find("broken.jpg"), std::string::npos);
}

TEST(PrelabelJob, CancelStopsBetweenImagesAndOneRunAtATime) {
  TempDir dir;
  copy_photos(dir, {"000000000009", "000000000025", "000000000030", "000000000034", "000000000036"});
  auto project = LabelProject::open({dir.str(), dataset::DatasetFormat::kYolo, {}, picodet().spec().labels});
  ASSERT_TRUE(project) << project.error().message;
  auto mapping =
      LabelMapping::build("picodet_s_416", picodet().spec().labels, (*project)->classes(), nullptr);
  ASSERT_TRUE(mapping);
  PrelabelJob job(
      **project, "picodet_s_416", [] { return load_detector("picodet_s_416", {}, 1); }, *mapping);
  ASSERT_TRUE(job.start());
  auto again = job.start();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kUnavailable);
  job.cancel();
  ASSERT_TRUE(job.wait_idle(30000));
  EXPECT_EQ(job.progress().state, "cancelled");
  EXPECT_LT(job.progress().done, 5U);
}

}  // namespace
}  // namespace visearch::labeling
