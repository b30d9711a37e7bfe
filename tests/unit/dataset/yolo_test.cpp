#include <gtest/gtest.h>

#include "dataset/dataset.h"
#include "dataset/yolo.h"
#include "test_util.h"

namespace visearch::dataset {
namespace {

using testing::TempDir;
using testing::write_jpeg;
using testing::write_text;

const Diagnostic* find_line(const Diagnostics& diagnostics, int line) {
  for (const Diagnostic& d : diagnostics) {
    if (d.line == line) return &d;
  }
  return nullptr;
}

TEST(YoloLabels, ParsesBoxesAndSkipsBlankLines) {
  const auto parsed = parse_yolo_labels(
      "\xEF\xBB\xBF"
      "0 0.5 0.5 0.2 0.4\r\n\n  \n3 0.25 0.75 0.1 0.1\n",
      "a.txt", 5);
  EXPECT_TRUE(parsed.diagnostics.empty());
  ASSERT_EQ(parsed.labels.size(), 2U);
  EXPECT_EQ(parsed.labels[0].class_id, 0);
  EXPECT_DOUBLE_EQ(parsed.labels[0].h, 0.4);
  EXPECT_EQ(parsed.labels[1].class_id, 3);
  EXPECT_EQ(parsed.labels[1].line, 4);
}

TEST(YoloLabels, EachMalformedLineIsAnErrorWithItsLineAndTheRestIsKept) {
  const std::string text =
      "0 0.5 0.5 0.2 0.2\n"      // 1 ok
      "1 0.5 0.5 0.2\n"          // 2 four columns
      "x 0.5 0.5 0.2 0.2\n"      // 3 class not an integer
      "7 0.5 0.5 0.2 0.2\n"      // 4 class out of range
      "1 0.5 0.5 -0.2 0.2\n"     // 5 negative width
      "1 0.95 0.5 0.2 0.2\n"     // 6 outside the image
      "1 0.5 nan 0.2 0.2\n"      // 7 not finite
      "1 0.5 0.5 0.2 0.2 0.9\n"  // 8 six columns
      "2.0 0.5 0.5 0.1 0.1\n";   // 9 ok: integral float class
  const auto parsed = parse_yolo_labels(text, "labels/x.txt", 3);
  ASSERT_EQ(parsed.labels.size(), 2U);
  EXPECT_EQ(parsed.labels[1].class_id, 2);
  ASSERT_EQ(parsed.diagnostics.size(), 7U);
  for (int line = 2; line <= 8; ++line) {
    const Diagnostic* d = find_line(parsed.diagnostics, line);
    ASSERT_NE(d, nullptr) << "line " << line;
    EXPECT_EQ(d->severity, Severity::kError);
    EXPECT_EQ(d->file, "labels/x.txt");
  }
  EXPECT_NE(find_line(parsed.diagnostics, 2)->message.find("expected 5 columns"), std::string::npos);
  EXPECT_NE(find_line(parsed.diagnostics, 4)->message.find("out of range (0..2)"), std::string::npos);
  EXPECT_NE(find_line(parsed.diagnostics, 5)->message.find("negative"), std::string::npos);
  EXPECT_NE(find_line(parsed.diagnostics, 6)->message.find("outside the image"), std::string::npos);
  EXPECT_EQ(find_line(parsed.diagnostics, 4)->to_string(),
            "labels/x.txt:4: error: class id 7 out of range (0..2)");
}

TEST(YoloLabels, PolygonLinesBecomeTheirBoundingBox) {
  const auto parsed = parse_yolo_labels("1 0.1 0.2 0.5 0.2 0.5 0.6 0.1 0.6\n", "p.txt", 2);
  ASSERT_EQ(parsed.labels.size(), 1U);
  EXPECT_TRUE(parsed.labels[0].from_polygon);
  EXPECT_NEAR(parsed.labels[0].cx, 0.3, 1e-12);
  EXPECT_NEAR(parsed.labels[0].w, 0.4, 1e-12);
  EXPECT_NEAR(parsed.labels[0].h, 0.4, 1e-12);
}

TEST(YoloLabels, FormatRoundTrips) {
  const std::vector<YoloLabel> labels{{4, 0.123456, 0.5, 0.25, 0.75, 0, false}};
  const auto parsed = parse_yolo_labels(format_yolo_labels(labels), "r.txt", 5);
  ASSERT_EQ(parsed.labels.size(), 1U);
  EXPECT_EQ(parsed.labels[0].class_id, 4);
  EXPECT_DOUBLE_EQ(parsed.labels[0].cx, 0.123456);
}

TEST(DataYaml, NamesAsListOrMapping) {
  auto list = parse_data_yaml("path: .\ntrain: images/train\nval: images/val\nnames: [cat, dog]\n", "d.yaml",
                              "/root");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(list->root, "/root");
  ASSERT_EQ(list->splits.size(), 2U);
  EXPECT_EQ(list->splits[1].key, "val");
  auto map = parse_data_yaml("train: a\nnc: 2\nnames:\n  1: dog\n  0: \"cat: tabby\"\n", "d.yaml", "/r");
  ASSERT_TRUE(map) << map.error().message;
  EXPECT_EQ(map->names, (std::vector<std::string>{"cat: tabby", "dog"}));
}

TEST(DataYaml, ErrorsNameFileAndLine) {
  auto bad_yaml = parse_data_yaml("train: a\nnames: [cat, dog\nval: b\n", "data.yaml", "/r");
  ASSERT_FALSE(bad_yaml);
  EXPECT_EQ(bad_yaml.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad_yaml.error().message.rfind("data.yaml:", 0), 0U) << bad_yaml.error().message;
  auto nc = parse_data_yaml("train: a\nnc: 3\nnames: [cat, dog]\n", "data.yaml", "/r");
  ASSERT_FALSE(nc);
  EXPECT_NE(nc.error().message.find("data.yaml:2"), std::string::npos) << nc.error().message;
  auto gap = parse_data_yaml("train: a\nnames: {0: cat, 2: dog}\n", "data.yaml", "/r");
  ASSERT_FALSE(gap);
  EXPECT_NE(gap.error().message.find("contiguous"), std::string::npos);
  EXPECT_FALSE(parse_data_yaml("names: [a]\n", "data.yaml", "/r"));        // no split
  EXPECT_FALSE(parse_data_yaml("train: a\n", "data.yaml", "/r"));          // no names
  EXPECT_FALSE(parse_data_yaml("- just\n- a list\n", "data.yaml", "/r"));  // not a mapping
}

TEST(YoloLayout, ReadsUltralyticsFoldersWithOrphansAndUnlabelledImages) {
  TempDir dir;
  write_text(dir.path() / "data.yaml", "path: .\ntrain: images/train\nval: images/val\nnames: [cat, dog]\n");
  write_jpeg(dir.path() / "images/train/a.jpg", 200, 100, 1);
  write_jpeg(dir.path() / "images/train/b.jpg", 200, 100, 2);  // no label file: background
  write_jpeg(dir.path() / "images/val/c.jpg", 100, 100, 3);
  write_text(dir.path() / "labels/train/a.txt", "1 0.5 0.5 0.5 0.5\n");
  write_text(dir.path() / "labels/train/orphan.txt", "0 0.5 0.5 0.1 0.1\n");
  write_text(dir.path() / "labels/val/c.txt", "0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2\n");
  auto ds = load_dataset(dir.str());
  ASSERT_TRUE(ds) << ds.error().message;
  EXPECT_EQ(ds->format, DatasetFormat::kYolo);
  ASSERT_EQ(ds->images.size(), 3U);
  EXPECT_EQ(ds->splits(), (std::vector<std::string>{"train", "val"}));
  const ImageRecord& a = ds->images[0];
  EXPECT_EQ(a.file, "a.jpg");
  EXPECT_EQ(a.width, 200);
  ASSERT_EQ(a.annotations.size(), 1U);
  EXPECT_DOUBLE_EQ(a.annotations[0].box.x1, 50.0);
  EXPECT_DOUBLE_EQ(a.annotations[0].box.y2, 75.0);
  EXPECT_FALSE(ds->images[1].labelled);
  EXPECT_TRUE(ds->images[2].has_errors);
  EXPECT_EQ(ds->images[2].annotations.size(), 1U);
  ASSERT_EQ(ds->orphan_annotations.size(), 1U);
  EXPECT_NE(ds->orphan_annotations[0].find("orphan.txt"), std::string::npos);
  ASSERT_EQ(count_errors(ds->diagnostics), 1U);
  EXPECT_EQ(ds->diagnostics[0].line, 2);
}

TEST(YoloLayout, SharedFolderForTrainAndValBecomesAnAlias) {
  TempDir dir;
  write_text(dir.path() / "data.yaml", "train: images/train2017\nval: images/train2017\nnames: [a]\n");
  write_jpeg(dir.path() / "images/train2017/x.jpg", 64, 64, 4);
  write_text(dir.path() / "labels/train2017/x.txt", "0 0.5 0.5 0.5 0.5\n");
  auto ds = load_dataset(dir.str("data.yaml"));
  ASSERT_TRUE(ds) << ds.error().message;
  ASSERT_EQ(ds->images.size(), 1U);
  EXPECT_EQ(ds->images[0].split, "train2017");
  EXPECT_TRUE(ds->in_split(ds->images[0], "val"));
  EXPECT_TRUE(ds->in_split(ds->images[0], "train"));
  EXPECT_FALSE(ds->in_split(ds->images[0], "test"));
}

TEST(YoloLayout, UnreadableImageIsReportedAndItsLabelsKeptOut) {
  TempDir dir;
  write_text(dir.path() / "classes.txt", "thing\n");
  write_text(dir.path() / "broken.jpg", "not a jpeg at all");
  write_text(dir.path() / "broken.txt", "0 0.5 0.5 0.5 0.5\n");
  auto ds = load_dataset(dir.str());
  ASSERT_TRUE(ds) << ds.error().message;
  ASSERT_EQ(ds->images.size(), 1U);
  EXPECT_TRUE(ds->images[0].has_errors);
  EXPECT_GE(count_errors(ds->diagnostics), 2U);
}

TEST(YoloLayout, MissingClassListIsAnError) {
  TempDir dir;
  write_text(dir.path() / "a.txt", "0 0.5 0.5 0.5 0.5\n");
  auto ds = read_yolo(dir.str(), {});
  ASSERT_FALSE(ds);
  EXPECT_NE(ds.error().message.find("class names are unknown"), std::string::npos);
}

}  // namespace
}  // namespace visearch::dataset
