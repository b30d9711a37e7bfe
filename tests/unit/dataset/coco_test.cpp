#include <gtest/gtest.h>

#include <filesystem>

#include "dataset/coco.h"
#include "dataset/convert.h"
#include "test_util.h"

namespace visearch::dataset {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_jpeg;
using testing::write_text;

const std::string kValid = R"({
  "images": [
    {"id": 7, "file_name": "a.jpg", "width": 100, "height": 80},
    {"id": 8, "file_name": "b.jpg", "width": 50, "height": 50}
  ],
  "categories": [{"id": 3, "name": "cat"}, {"id": 1, "name": "dog"}],
  "annotations": [
    {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 10, 20, 30], "area": 400, "iscrowd": 0},
    {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 100, 80], "iscrowd": 1,
     "segmentation": {"counts": "x", "size": [80, 100]}},
    {"id": 3, "image_id": 8, "category_id": 1, "bbox": [1.5, 2.25, 3, 4],
     "attributes": {"difficult": true, "truncated": false, "pose": "Left"}}
  ]
})";

TEST(CocoParse, ReadsImagesCategoriesAndAnnotations) {
  auto doc = parse_coco_json(kValid, "in.json");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_FALSE(doc->is_results_list);
  EXPECT_TRUE(doc->diagnostics.empty());
  ASSERT_EQ(doc->annotations.size(), 3U);
  EXPECT_TRUE(doc->annotations[1].iscrowd);
  EXPECT_TRUE(doc->annotations[1].segmentation.is_object());
  EXPECT_EQ(doc->annotations[2].difficult, std::optional<bool>(true));
  EXPECT_EQ(doc->annotations[2].pose, "Left");
  EXPECT_EQ(doc->annotations[0].line, 8);
}

TEST(CocoParse, BadEntriesAreErrorsOnTheirLine) {
  const std::string text = R"({
  "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
             {"id": 1, "file_name": "dup.jpg", "width": 10, "height": 10}],
  "categories": [{"id": 1, "name": "cat"}],
  "annotations": [
    {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, -5, 5]},
    {"id": 2, "image_id": 9, "category_id": 1, "bbox": [10, 10, 5, 5]},
    {"id": 3, "image_id": 1, "category_id": 4, "bbox": [10, 10, 5, 5]},
    {"id": 4, "image_id": 1, "category_id": 1, "bbox": [90, 90, 50, 50]},
    {"id": 5, "image_id": 1, "category_id": 1, "bbox": [10, 10, 5]},
    {"id": 6, "image_id": 1, "category_id": 1, "bbox": [10, 10, 5, 5]},
    {"id": 6, "image_id": 1, "category_id": 1, "bbox": [20, 20, 5, 5]}
  ]
})";
  auto doc = parse_coco_json(text, "bad.json");
  ASSERT_TRUE(doc) << doc.error().message;
  ASSERT_EQ(doc->annotations.size(), 1U);  // the first id 6
  std::vector<int> lines;
  for (const Diagnostic& d : doc->diagnostics) lines.push_back(d.line);
  EXPECT_EQ(lines, (std::vector<int>{3, 6, 7, 8, 9, 10, 12}));
  EXPECT_NE(doc->diagnostics[1].message.find("negative width"), std::string::npos);
  EXPECT_NE(doc->diagnostics[2].message.find("unknown image_id 9"), std::string::npos);
  EXPECT_NE(doc->diagnostics[3].message.find("unknown category_id 4"), std::string::npos);
  EXPECT_NE(doc->diagnostics[4].message.find("outside the image"), std::string::npos);
  EXPECT_NE(doc->diagnostics[5].message.find("'bbox' must be"), std::string::npos);
  EXPECT_NE(doc->diagnostics[6].message.find("duplicate annotation id 6"), std::string::npos);
  EXPECT_EQ(doc->images_with_errors, (std::vector<std::int64_t>{1}));
}

TEST(CocoParse, SyntaxErrorHasLineAndColumn) {
  auto doc = parse_coco_json("{\n  \"images\": [\n    {\"id\": 1,,}\n  ]\n}", "broken.json");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(doc.error().message.rfind("broken.json:3:", 0), 0U) << doc.error().message;
  const Diagnostic d = diagnostic_from_error("broken.json", doc.error());
  EXPECT_EQ(d.line, 3);
  EXPECT_EQ(d.message.rfind("invalid JSON", 0), 0U);
}

TEST(CocoParse, ResultsListNeedsScores) {
  auto doc = parse_coco_json(R"([{"image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4], "score": 0.5},
                                 {"image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4]}])",
                             "res.json");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_TRUE(doc->is_results_list);
  ASSERT_EQ(doc->annotations.size(), 1U);
  EXPECT_DOUBLE_EQ(*doc->annotations[0].score, 0.5);
  ASSERT_EQ(doc->diagnostics.size(), 1U);
  EXPECT_EQ(doc->diagnostics[0].line, 2);
}

TEST(CocoParse, WrongShapesAreErrorsNotCrashes) {
  for (const char* text :
       {"", "42", "\"x\"", "{}", "{\"annotations\": 3}", "{\"annotations\": [], \"images\": {}}",
        "[1, 2, null]", "{\"annotations\": [{\"id\": \"x\"}]}"}) {
    auto doc = parse_coco_json(text, "w.json");
    if (doc) {
      EXPECT_TRUE(doc->annotations.empty()) << text;
    } else {
      EXPECT_FALSE(doc.error().message.empty()) << text;
    }
  }
}

TEST(CocoDataset, ReadWriteKeepsIdsFlagsAndSegmentation) {
  TempDir dir;
  write_text(dir.path() / "src/annotations/instances_val.json", kValid);
  write_jpeg(dir.path() / "src/val/a.jpg", 100, 80, 1);
  write_jpeg(dir.path() / "src/val/b.jpg", 50, 50, 2);
  auto ds = load_dataset(dir.str("src"));
  ASSERT_TRUE(ds) << ds.error().message;
  EXPECT_EQ(ds->format, DatasetFormat::kCoco);
  EXPECT_EQ(ds->classes, (std::vector<std::string>{"dog", "cat"}));  // by category id
  EXPECT_EQ(ds->category_ids, (std::vector<std::int64_t>{1, 3}));
  ASSERT_EQ(ds->images.size(), 2U);
  EXPECT_EQ(ds->images[0].split, "val");
  EXPECT_FALSE(ds->images[0].path.empty());
  auto report = write_dataset(*ds, dir.str("out"), DatasetFormat::kCoco, {});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->not_representable.empty());
  EXPECT_TRUE(fs::exists(dir.path() / "out/val/a.jpg"));
  auto again = load_dataset(dir.str("out"));
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_EQ(again->images.size(), 2U);
  EXPECT_EQ(again->images[0].coco_id, std::optional<std::int64_t>(7));
  const Annotation& crowd = again->images[0].annotations[1];
  EXPECT_TRUE(crowd.iscrowd);
  EXPECT_EQ(crowd.coco_id, std::optional<std::int64_t>(2));
  EXPECT_TRUE(crowd.segmentation.is_object());
  const Annotation& b = again->images[1].annotations[0];
  EXPECT_DOUBLE_EQ(b.box.x1, 1.5);
  EXPECT_DOUBLE_EQ(b.box.y2, 6.25);
  EXPECT_EQ(b.difficult, std::optional<bool>(true));
  EXPECT_EQ(b.pose, "Left");
  EXPECT_DOUBLE_EQ(*again->images[0].annotations[0].area, 400.0);
}

}  // namespace
}  // namespace visearch::dataset
