#include <gtest/gtest.h>

#include <filesystem>

#include "dataset/check.h"
#include "dataset/image_hash.h"
#include "io/image_decode.h"
#include "test_util.h"

namespace visearch::dataset {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_jpeg;
using testing::write_text;

bool has_message(const CheckReport& r, Severity severity, const std::string& text) {
  for (const Diagnostic& d : r.diagnostics) {
    if (d.severity == severity && d.message.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(ImageHash, ReencodedImageIsNearAndOtherImagesAreFar) {
  const Image a = testing::make_pattern(160, 120, 7);
  auto q90 = encode_jpeg(a, 90);
  auto q40 = encode_jpeg(a, 40);
  ASSERT_TRUE(q90 && q40);
  auto d90 = decode_image(*q90, {});
  auto d40 = decode_image(*q40, {});
  ASSERT_TRUE(d90 && d40);
  EXPECT_LE(hamming_distance(difference_hash(d90->image), difference_hash(d40->image)),
            kDefaultNearDuplicateDistance);
  int far = 0;
  for (std::uint32_t seed = 100; seed < 110; ++seed) {
    far += hamming_distance(difference_hash(a), difference_hash(testing::make_pattern(160, 120, seed))) > 10
               ? 1
               : 0;
  }
  EXPECT_EQ(far, 10);
  EXPECT_EQ(hamming_distance(0, ~std::uint64_t{0}), 64);
}

TEST(Check, FindsEveryKindOfProblem) {
  TempDir dir;
  write_text(dir.path() / "data.yaml", "train: images/train\nval: images/val\nnames: [cat, dog, bird]\n");
  write_jpeg(dir.path() / "images/train/a.jpg", 200, 200, 1);
  fs::create_directories(dir.path() / "images/val");
  fs::copy_file(dir.path() / "images/train/a.jpg",
                dir.path() / "images/val/a_copy.jpg");                   // exact, other split
  write_jpeg(dir.path() / "images/train/a_small.jpg", 200, 200, 1, 40);  // near duplicate of a
  write_jpeg(dir.path() / "images/train/b.jpg", 200, 200, 2);            // no labels
  write_text(dir.path() / "images/train/c.jpg", "garbage");              // unreadable
  write_text(dir.path() / "labels/train/a.txt",
             "0 0.5 0.5 0.5 0.5\n0 0.5 0.5 0.5 0.5\n1 0.1 0.2 0.02 0.3\n1 0.5 0.5 0 0.2\n");
  write_text(dir.path() / "labels/train/a_small.txt", "0 0.5 0.5 0.5 0.5\n");
  write_text(dir.path() / "labels/train/c.txt", "0 0.5 0.5 0.5 0.5\n");
  write_text(dir.path() / "labels/val/a_copy.txt", "0 0.5 0.5 0.5 0.5\n");
  write_text(dir.path() / "labels/val/ghost.txt", "0 0.5 0.5 0.5 0.5\n");
  auto report = check_dataset(dir.str(), {}, {});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->images, 5U);
  ASSERT_EQ(report->splits.size(), 2U);
  EXPECT_EQ(report->splits[0].name, "train");
  EXPECT_EQ(report->splits[0].images, 4U);
  EXPECT_EQ(report->splits[0].unlabelled, 1U);
  EXPECT_EQ(report->images_without_labels.size(), 1U);
  EXPECT_EQ(report->labels_without_images.size(), 1U);
  EXPECT_EQ(report->unreadable_images.size(), 1U);
  EXPECT_EQ(report->degenerate_boxes, 1U);
  EXPECT_EQ(report->tiny_boxes, 1U);  // 4 px wide
  EXPECT_EQ(report->duplicate_boxes, 1U);
  ASSERT_EQ(report->exact_duplicates.size(), 1U);
  EXPECT_EQ(report->exact_duplicates[0].size(), 2U);
  ASSERT_EQ(report->near_duplicates.size(), 1U);
  EXPECT_EQ(report->per_class[0], 4U);  // cat (c.jpg is unreadable, so its box has no pixel size)
  EXPECT_EQ(report->unused_classes, (std::vector<std::string>{"bird"}));
  EXPECT_TRUE(has_message(*report, Severity::kError, "more than one split"));
  EXPECT_TRUE(has_message(*report, Severity::kError, "degenerate"));
  EXPECT_TRUE(has_message(*report, Severity::kError, "label without image"));
  EXPECT_TRUE(has_message(*report, Severity::kWarning, "tiny"));
  EXPECT_TRUE(has_message(*report, Severity::kWarning, "near duplicate"));
  EXPECT_TRUE(has_message(*report, Severity::kWarning, "image without labels"));
  EXPECT_GE(report->errors(), 4U);
  const auto json = to_json(*report);
  EXPECT_EQ(json["errors"].get<std::size_t>(), report->errors());
  EXPECT_EQ(json["splits"][1]["name"], "val");
  const std::string text = to_text(*report);
  EXPECT_NE(text.find("error(s)"), std::string::npos);
}

TEST(Check, CleanDataSetHasNoErrors) {
  TempDir dir;
  write_text(dir.path() / "classes.txt", "cat\ndog\n");
  write_jpeg(dir.path() / "images/x.jpg", 100, 100, 11);
  write_jpeg(dir.path() / "images/y.jpg", 100, 100, 12);
  write_text(dir.path() / "labels/x.txt", "0 0.5 0.5 0.5 0.5\n");
  write_text(dir.path() / "labels/y.txt", "1 0.5 0.5 0.5 0.5\n");
  auto report = check_dataset(dir.str(), {}, {});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->errors(), 0U);
  EXPECT_EQ(report->warnings(), 0U);
  EXPECT_DOUBLE_EQ(report->imbalance_ratio, 1.0);
}

TEST(Check, CocoSizeMismatchAndMissingImageAreErrors) {
  TempDir dir;
  write_text(dir.path() / "annotations/instances_val.json", R"({
    "images": [{"id": 1, "file_name": "a.jpg", "width": 300, "height": 100},
               {"id": 2, "file_name": "missing.jpg", "width": 10, "height": 10}],
    "categories": [{"id": 1, "name": "x"}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 50, 50]}]})");
  write_jpeg(dir.path() / "val/a.jpg", 100, 100, 3);
  auto report = check_dataset(dir.str(), {}, {});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(has_message(*report, Severity::kError, "is 100x100 but the annotation says 300x100"));
  EXPECT_TRUE(has_message(*report, Severity::kError, "'missing.jpg' not found"));
}

}  // namespace
}  // namespace visearch::dataset
