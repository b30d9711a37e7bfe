// LabelProject over YOLO folders: image list and status, versioned saves and conflicts, validation with
// nothing written, history, the sidecar state across restarts, proposals, EXIF-rotated images.
#include <gtest/gtest.h>

#include <filesystem>

#include "dataset/check.h"
#include "dataset/dataset.h"
#include "labeling/label_project.h"
#include "test_util.h"

namespace visearch::labeling {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::snapshot_tree;
using testing::TempDir;
using testing::write_jpeg;
using testing::write_text;

std::unique_ptr<LabelProject> open_ok(const ProjectOptions& options) {
  auto project = LabelProject::open(options);
  EXPECT_TRUE(project) << (project ? "" : project.error().message);
  return project ? std::move(*project) : nullptr;
}

std::string id_of(const LabelProject& project, const std::string& key) {
  for (const ImageSummary& s : project.list()) {
    if (s.key == key) return s.id;
  }
  ADD_FAILURE() << "no image " << key;
  return "";
}

// A folder of raw photos: a.jpg 200x100, b.jpg 64x48, sub/c.jpg 32x32.
void raw_photos(const TempDir& dir) {
  write_jpeg(dir.path() / "a.jpg", 200, 100);
  write_jpeg(dir.path() / "b.jpg", 64, 48);
  write_jpeg(dir.path() / "sub" / "c.jpg", 32, 32);
}

TEST(LabelProject, RawPhotosBecomeAYoloDataSet) {
  TempDir dir;
  raw_photos(dir);
  auto project = open_ok({dir.str(), dataset::DatasetFormat::kAuto, {"bottle", "mug"}, {}});
  ASSERT_TRUE(project);
  EXPECT_TRUE(project->created());
  EXPECT_EQ(project->format(), dataset::DatasetFormat::kYolo);
  const auto images = project->list();
  ASSERT_EQ(images.size(), 3U);
  EXPECT_EQ(images[0].key, "a.jpg");
  EXPECT_EQ(images[2].key, "sub/c.jpg");
  for (const ImageSummary& s : images) {
    EXPECT_EQ(s.status, ImageStatus::kUnlabelled);
    EXPECT_EQ(s.version, 1);
    EXPECT_EQ(s.id.size(), 16U);
  }
  const ProjectCounts counts = project->counts();
  EXPECT_EQ(counts.unlabelled, 3U);

  const std::string id = id_of(*project, "a.jpg");
  auto saved =
      project->save(id, R"({"version": 1, "boxes": [{"class_id": 1, "x1": 10, "y1": 20, "x2": 110, "y2": 70},
                                                               {"class": "bottle", "x1": 0, "y1": 0, "x2": 200, "y2": 100}]})");
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_FALSE(saved->conflict);
  EXPECT_EQ(saved->version, 2);
  EXPECT_EQ(saved->history_file, "");
  EXPECT_EQ(read_text(dir.path() / "a.txt"),
            "1 0.300000 0.450000 0.500000 0.500000\n0 0.500000 0.500000 1.000000 1.000000\n");
  EXPECT_EQ(read_text(dir.path() / "classes.txt"), "bottle\nmug\n");
  ASSERT_EQ(saved->detail.annotations.size(), 2U);
  EXPECT_NEAR(saved->detail.annotations[0].box.x1, 10, 1e-6);
  EXPECT_NEAR(saved->detail.annotations[0].box.y2, 70, 1e-6);
  EXPECT_EQ(saved->detail.summary.status, ImageStatus::kReviewed);
  EXPECT_EQ(project->counts().reviewed, 1U);
  EXPECT_EQ(project->counts().per_class, (std::vector<std::size_t>{1, 1}));

  // The data-set reader finds exactly the saved boxes, and the folder passes the health check.
  auto reread = dataset::load_dataset(dir.str());
  ASSERT_TRUE(reread) << reread.error().message;
  EXPECT_EQ(reread->format, dataset::DatasetFormat::kYolo);
  EXPECT_EQ(reread->classes, (std::vector<std::string>{"bottle", "mug"}));
  std::size_t boxes = 0;
  for (const dataset::ImageRecord& r : reread->images) boxes += r.annotations.size();
  EXPECT_EQ(boxes, 2U);
  EXPECT_TRUE(reread->orphan_annotations.empty());
  auto report = dataset::check_dataset(dir.str(), {}, {});
  ASSERT_TRUE(report);
  EXPECT_EQ(report->errors(), 0U) << dataset::to_text(*report);
}

TEST(LabelProject, SecondOfTwoConflictingSavesIsRefusedAndWritesNothing) {
  TempDir dir;
  raw_photos(dir);
  auto project = open_ok({dir.str(), dataset::DatasetFormat::kYolo, {"bottle", "mug"}, {}});
  ASSERT_TRUE(project);
  const std::string id = id_of(*project, "b.jpg");
  // Two browsers load version 1; the first saves.
  auto first = project->save(
      id, R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 1, "x2": 30, "y2": 30}]})");
  ASSERT_TRUE(first && !first->conflict);
  const std::string before = snapshot_tree(dir.path());
  auto second = project->save(
      id, R"({"version": 1, "boxes": [{"class_id": 1, "x1": 2, "y1": 2, "x2": 40, "y2": 40}]})");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE(second->conflict);
  EXPECT_EQ(second->version, 2);
  EXPECT_EQ(second->sent_version, 1);
  ASSERT_EQ(second->detail.annotations.size(), 1U);
  EXPECT_EQ(second->detail.annotations[0].class_id, 0);  // the first save's labels
  EXPECT_EQ(snapshot_tree(dir.path()), before);
  // A stale client's refs name boxes of the version it loaded: still a conflict, not a payload error.
  auto stale = project->save(
      id, R"({"version": 1, "boxes": [{"class_id": 1, "x1": 2, "y1": 2, "x2": 40, "y2": 40, "ref": 5}]})");
  ASSERT_TRUE(stale) << stale.error().message;
  EXPECT_TRUE(stale->conflict);
  auto bad_ref = project->save(
      id, R"({"version": 2, "boxes": [{"class_id": 1, "x1": 2, "y1": 2, "x2": 40, "y2": 40, "ref": 5}]})");
  ASSERT_FALSE(bad_ref);
  EXPECT_NE(bad_ref.error().message.find("boxes[0].ref 5 names no stored box (the image has 1)"),
            std::string::npos);
  EXPECT_EQ(snapshot_tree(dir.path()), before);
  // Starting again from the current version works, and keeps the replaced labels in the history.
  auto third = project->save(id, R"({"version": 2, "boxes": []})");
  ASSERT_TRUE(third && !third->conflict);
  EXPECT_EQ(third->version, 3);
  EXPECT_EQ(read_text(dir.path() / "b.txt"), "");
  ASSERT_FALSE(third->history_file.empty());
  EXPECT_EQ(read_text(third->history_file), "0 0.242188 0.322917 0.453125 0.604167\n");
  EXPECT_EQ(fs::path(third->history_file).filename(), "b.jpg.v2.txt.bak");
}

TEST(LabelProject, InvalidPayloadsWriteNothing) {
  TempDir dir;
  raw_photos(dir);
  write_text(dir.path() / "classes.txt", "bottle\nmug\n");
  write_text(dir.path() / "a.txt", "0 0.5 0.5 0.2 0.2\n");
  auto project = open_ok({dir.str(), dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_TRUE(project);
  EXPECT_FALSE(project->created());
  const std::string id = id_of(*project, "a.jpg");
  const std::string before = snapshot_tree(dir.path());
  for (const char* body : {
           R"({"version": 1, "boxes": [{"class_id": 2, "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})",
           R"({"version": 1, "boxes": [{"class_id": 0, "x1": 50, "y1": 1, "x2": 9, "y2": 9}]})",
           R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 1, "x2": 250, "y2": 9}]})",
           R"({"version": 1, "boxes": [{"class_id": 0, "x1": "1", "y1": 1, "x2": 9, "y2": 9}]})",
           R"({"version": 1, "boxes": "none"})",
           R"(not json)",
       }) {
    auto saved = project->save(id, body);
    ASSERT_FALSE(saved) << body;
    EXPECT_EQ(saved.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(snapshot_tree(dir.path()), before);
  auto detail = project->image(id);
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->summary.version, 1);
  EXPECT_EQ(detail->annotations.size(), 1U);
  auto unknown = project->save("0000000000000000", R"({"version": 1, "boxes": []})");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST(LabelProject, StateSurvivesARestart) {
  TempDir dir;
  raw_photos(dir);
  std::string id;
  {
    auto project = open_ok({dir.str(), dataset::DatasetFormat::kYolo, {"bottle", "mug"}, {}});
    ASSERT_TRUE(project);
    id = id_of(*project, "a.jpg");
    ASSERT_TRUE(project->save(id, R"({"version": 1, "boxes": []})"));
    const std::string b = id_of(*project, "b.jpg");
    ASSERT_TRUE(
        project->set_proposals(b, {Proposal{LabelBox{1, 1, 2, 30, 40}, 0.9F, "cup"}}, "picodet_s_416"));
    EXPECT_EQ(project->counts().pre_labelled, 1U);
  }
  EXPECT_TRUE(fs::is_regular_file(dir.path() / ".visearch" / "labels-state.json"));
  // No --format, no --classes: both come back from the data set and the state file.
  auto project = open_ok({dir.str(), dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_TRUE(project);
  EXPECT_FALSE(project->created());
  EXPECT_EQ(project->classes(), (std::vector<std::string>{"bottle", "mug"}));
  auto detail = project->image(id);
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->summary.version, 2);
  EXPECT_EQ(detail->summary.status, ImageStatus::kReviewed);
  auto b = project->image(id_of(*project, "b.jpg"));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->summary.status, ImageStatus::kPreLabelled);
  ASSERT_EQ(b->proposals.size(), 1U);
  EXPECT_EQ(b->proposals[0].detector_label, "cup");
  EXPECT_EQ(b->proposals_model, "picodet_s_416");
  // A save of a pre-labelled image drops its proposals.
  auto saved = project->save(
      b->summary.id, R"({"version": 1, "boxes": [{"class_id": 1, "x1": 1, "y1": 2, "x2": 30, "y2": 40}]})");
  ASSERT_TRUE(saved && !saved->conflict);
  EXPECT_TRUE(saved->detail.proposals.empty());
  EXPECT_FALSE(fs::exists(proposals_path(project->root(), "b.jpg")));
  EXPECT_EQ(project->ids_with_status(ImageStatus::kUnlabelled).size(), 1U);
  // Sidecar files are invisible to the data-set readers and the health check.
  auto report = dataset::check_dataset(dir.str(), {}, {});
  ASSERT_TRUE(report);
  EXPECT_EQ(report->errors(), 0U) << dataset::to_text(*report);
  EXPECT_TRUE(report->labels_without_images.empty());
}

TEST(LabelProject, UltralyticsLayoutWritesBesideTheImagesFolder) {
  TempDir dir;
  write_jpeg(dir.path() / "images" / "train" / "x.jpg", 100, 50);
  write_jpeg(dir.path() / "images" / "train" / "y.jpg", 100, 50);
  write_text(dir.path() / "labels" / "train" / "y.txt", "0 0.5 0.5 0.5 0.5\n");
  write_text(dir.path() / "data.yaml",
             "path: .\ntrain: images/train\nval: images/train\nnames: [can, box]\n");
  auto project = open_ok({dir.str(), dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_TRUE(project);
  EXPECT_EQ(project->classes(), (std::vector<std::string>{"can", "box"}));
  ASSERT_EQ(project->list().size(), 2U);
  const std::string x = id_of(*project, "images/train/x.jpg");
  EXPECT_EQ(project->list(ImageStatus::kUnlabelled).size(), 1U);
  auto saved =
      project->save(x, R"({"version": 1, "boxes": [{"class_id": 1, "x1": 0, "y1": 0, "x2": 50, "y2": 50}]})");
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(saved->detail.label_file, "labels/train/x.txt");
  EXPECT_EQ(read_text(dir.path() / "labels" / "train" / "x.txt"), "1 0.250000 0.500000 0.500000 1.000000\n");
  EXPECT_FALSE(fs::exists(dir.path() / "classes.txt"));  // data.yaml holds the classes
  // --classes that disagree with the data set are refused.
  auto refused = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {"box", "can"}, {}});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("differs from the data set's classes"), std::string::npos);
}

TEST(LabelProject, ExifRotatedImagesUseUprightCoordinates) {
  TempDir dir;
  // Stored 40x80 with orientation 6: shown (and labelled) as 80x40.
  testing::write_jpeg_oriented(dir.path() / "r.jpg", 80, 40, 6);
  auto project = open_ok({dir.str(), dataset::DatasetFormat::kYolo, {"thing"}, {}});
  ASSERT_TRUE(project);
  const std::string id = id_of(*project, "r.jpg");
  auto detail = project->image(id);
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->summary.width, 80);
  EXPECT_EQ(detail->summary.height, 40);
  // A box in the right half of the upright image; x2 = 80 is inside, y2 = 80 would not be.
  auto outside = project->save(
      id, R"({"version": 1, "boxes": [{"class_id": 0, "x1": 40, "y1": 0, "x2": 80, "y2": 80}]})");
  ASSERT_FALSE(outside);
  auto saved = project->save(
      id, R"({"version": 1, "boxes": [{"class_id": 0, "x1": 40, "y1": 0, "x2": 80, "y2": 40}]})");
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(read_text(dir.path() / "r.txt"), "0 0.750000 0.500000 0.500000 1.000000\n");
}

TEST(LabelProject, OpenFailsClearly) {
  auto missing = LabelProject::open({"/nonexistent/folder", dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  TempDir dir;
  raw_photos(dir);
  auto no_classes = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_FALSE(no_classes);
  EXPECT_NE(no_classes.error().message.find("pass --classes"), std::string::npos);
  auto duplicate = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {"a", "a"}, {}});
  ASSERT_FALSE(duplicate);
  // Fallback classes (a mapping file's or the model's) apply to a new data set.
  auto fallback = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {}, {"person", "car"}});
  ASSERT_TRUE(fallback);
  EXPECT_EQ((*fallback)->classes(), (std::vector<std::string>{"person", "car"}));
  write_text(dir.path() / ".visearch" / "labels-state.json", "{broken");
  auto broken = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {"a"}, {}});
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("delete the file to start over"), std::string::npos);
}

TEST(LabelProject, ConcurrentSavesOfOneVersionLetExactlyOneThrough) {
  TempDir dir;
  raw_photos(dir);
  auto project = open_ok({dir.str(), dataset::DatasetFormat::kYolo, {"bottle"}, {}});
  ASSERT_TRUE(project);
  const std::string id = id_of(*project, "a.jpg");
  std::atomic<int> saved{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string body = R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 1, "x2": )" +
                               std::to_string(20 + t) + R"(, "y2": 20}]})";
      auto r = project->save(id, body);
      if (r && !r->conflict) ++saved;
      if (r && r->conflict) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(saved.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ(project->image(id)->summary.version, 2);
}

}  // namespace
}  // namespace visearch::labeling
