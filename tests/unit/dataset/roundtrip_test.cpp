// VOC -> COCO -> YOLO -> VOC keeps every box within 0.5 px and every label; what YOLO cannot hold is
// reported. Also conversion error handling (--strict, one bad file, destination == source).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "dataset/convert.h"
#include "dataset/voc.h"
#include "test_util.h"

namespace visearch::dataset {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_jpeg;
using testing::write_text;

const std::string kShared = VISEARCH_SHARED_DIR;

struct Labelled {
  std::string name;
  PixelBox box;
};

std::map<std::string, std::vector<Labelled>> by_stem(const Dataset& ds) {
  std::map<std::string, std::vector<Labelled>> out;
  for (const ImageRecord& image : ds.images) {
    auto& list = out[fs::path(image.file).stem().string()];
    for (const Annotation& a : image.annotations)
      list.push_back({ds.classes[static_cast<std::size_t>(a.class_id)], a.box});
  }
  return out;
}

void expect_same_boxes(const Dataset& a, const Dataset& b, double tolerance) {
  const auto left = by_stem(a);
  const auto right = by_stem(b);
  ASSERT_EQ(left.size(), right.size());
  std::size_t boxes = 0;
  for (const auto& [stem, objects] : left) {
    const auto it = right.find(stem);
    ASSERT_NE(it, right.end()) << stem;
    ASSERT_EQ(objects.size(), it->second.size()) << stem;
    // Same multiset of (label, box): object order may differ between tools.
    std::vector<bool> used(objects.size(), false);
    for (const Labelled& x : objects) {
      bool found = false;
      for (std::size_t j = 0; j < it->second.size() && !found; ++j) {
        const Labelled& y = it->second[j];
        if (used[j] || x.name != y.name) continue;
        if (std::fabs(x.box.x1 - y.box.x1) <= tolerance && std::fabs(x.box.y1 - y.box.y1) <= tolerance &&
            std::fabs(x.box.x2 - y.box.x2) <= tolerance && std::fabs(x.box.y2 - y.box.y2) <= tolerance) {
          used[j] = true;
          found = true;
        }
      }
      EXPECT_TRUE(found) << stem << ": no counterpart for '" << x.name << "' [" << x.box.x1 << ", "
                         << x.box.y1 << ", " << x.box.x2 << ", " << x.box.y2 << "] within " << tolerance
                         << " px";
      ++boxes;
    }
  }
  EXPECT_GT(boxes, 0U);
}

std::size_t count_flag(const Dataset& ds, std::optional<bool> Annotation::*flag) {
  std::size_t n = 0;
  for (const ImageRecord& image : ds.images) {
    for (const Annotation& a : image.annotations) n += (a.*flag).value_or(false) ? 1 : 0;
  }
  return n;
}

void round_trip(const std::string& voc_source, const std::string& images_dir, const fs::path& work) {
  ConvertOptions to_coco;
  to_coco.load.format = DatasetFormat::kVoc;
  to_coco.load.images_dir = images_dir;
  to_coco.to = DatasetFormat::kCoco;
  to_coco.write.images = ImageMode::kSymlink;
  auto coco = convert_dataset(voc_source, (work / "coco").string(), to_coco);
  ASSERT_TRUE(coco) << coco.error().message;
  EXPECT_EQ(count_errors(coco->read_diagnostics), 0U);
  EXPECT_TRUE(coco->write.not_representable.empty());  // flags travel in "attributes"
  EXPECT_TRUE(coco->write.skipped_images.empty());

  ConvertOptions to_yolo;
  to_yolo.to = DatasetFormat::kYolo;
  to_yolo.write.images = ImageMode::kSymlink;
  auto yolo = convert_dataset((work / "coco").string(), (work / "yolo").string(), to_yolo);
  ASSERT_TRUE(yolo) << yolo.error().message;
  EXPECT_EQ(count_errors(yolo->read_diagnostics), 0U);

  ConvertOptions to_voc;
  to_voc.to = DatasetFormat::kVoc;
  to_voc.write.images = ImageMode::kSymlink;
  auto voc = convert_dataset((work / "yolo").string(), (work / "voc").string(), to_voc);
  ASSERT_TRUE(voc) << voc.error().message;
  EXPECT_EQ(count_errors(voc->read_diagnostics), 0U);
  EXPECT_EQ(voc->write.not_representable.count(
                "box coordinates rounded to whole pixels (Pascal VOC stores integers)"),
            0U);

  LoadOptions load;
  load.format = DatasetFormat::kVoc;
  load.images_dir = images_dir;
  auto original = load_dataset(voc_source, load);
  ASSERT_TRUE(original);
  auto final_voc = load_dataset((work / "voc").string());
  ASSERT_TRUE(final_voc) << final_voc.error().message;
  EXPECT_EQ(final_voc->classes, original->classes);
  expect_same_boxes(*original, *final_voc, 0.5);
  // Intermediate COCO keeps the difficult flags; YOLO reports each one it could not hold.
  const std::size_t difficult = count_flag(*original, &Annotation::difficult);
  const auto lost = yolo->write.not_representable.find("difficult flag (YOLO has none)");
  if (difficult == 0) {
    EXPECT_EQ(lost, yolo->write.not_representable.end());
  } else {
    ASSERT_NE(lost, yolo->write.not_representable.end());
    EXPECT_EQ(lost->second, difficult);
  }
  auto coco_ds = load_dataset((work / "coco").string());
  ASSERT_TRUE(coco_ds);
  EXPECT_EQ(count_flag(*coco_ds, &Annotation::difficult), difficult);
}

TEST(RoundTrip, SyntheticVocThroughCocoAndYolo) {
  TempDir dir;
  const fs::path src = dir.path() / "voc";
  VocDocument a;
  a.filename = "a.jpg";
  a.width = 120;
  a.height = 90;
  a.objects = {{"dining table", "", true, false, std::nullopt, {3, 4, 117, 88}, 0},
               {"dog", "Left", false, true, std::nullopt, {50, 10, 51, 12}, 0}};
  VocDocument b;
  b.filename = "b.jpg";
  b.width = 64;
  b.height = 64;
  b.objects = {{"dog", "", std::nullopt, std::nullopt, std::nullopt, {0, 0, 64, 64}, 0}};
  write_text(src / "Annotations/a.xml", format_voc_xml(a));
  write_text(src / "Annotations/b.xml", format_voc_xml(b));
  write_jpeg(src / "JPEGImages/a.jpg", 120, 90, 1);
  write_jpeg(src / "JPEGImages/b.jpg", 64, 64, 2);
  round_trip(src.string(), "", dir.path() / "work");
}

TEST(RoundTrip, SharedVoc2012SampleThroughCocoAndYolo) {
  const std::string dir = kShared + "/data/voc2012-sample100";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
  TempDir work;
  round_trip(dir + "/gts/pascalvoc_format", dir + "/images", work.path());
}

TEST(RoundTrip, SharedYoloCopyAgreesWithVocWithinOnePixel) {
  // The shipped YOLO copy (other class order, obj.names) read with --images equals the VOC boxes.
  const std::string dir = kShared + "/data/voc2012-sample100";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
  LoadOptions voc_load;
  voc_load.format = DatasetFormat::kVoc;
  voc_load.images_dir = dir + "/images";
  auto voc = load_dataset(dir + "/gts/pascalvoc_format", voc_load);
  ASSERT_TRUE(voc);
  LoadOptions yolo_load;
  yolo_load.images_dir = dir + "/images";
  auto yolo = load_dataset(dir + "/gts/yolo_format", yolo_load);
  ASSERT_TRUE(yolo) << yolo.error().message;
  EXPECT_EQ(yolo->format, DatasetFormat::kYolo);
  EXPECT_EQ(count_errors(yolo->diagnostics), 0U);
  EXPECT_EQ(yolo->images.size(), 100U);
  expect_same_boxes(*voc, *yolo, 1.0);
}

TEST(Convert, OneBadFileIsSkippedAndReported) {
  TempDir dir;
  write_text(dir.path() / "src/classes.txt", "a\nb\n");
  write_jpeg(dir.path() / "src/good.jpg", 40, 40, 1);
  write_jpeg(dir.path() / "src/bad.jpg", 40, 40, 2);
  write_text(dir.path() / "src/good.txt", "0 0.5 0.5 0.5 0.5\n");
  write_text(dir.path() / "src/bad.txt", "1 0.5 0.5 0.5 0.5\n5 0.5 0.5 0.1 0.1\n");
  ConvertOptions options;
  options.to = DatasetFormat::kCoco;
  auto result = convert_dataset(dir.str("src"), dir.str("out"), options);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(count_errors(result->read_diagnostics), 1U);
  EXPECT_EQ(result->read_diagnostics[0].line, 2);
  ASSERT_EQ(result->write.skipped_images.size(), 1U);
  EXPECT_NE(result->write.skipped_images[0].find("bad.jpg"), std::string::npos);
  EXPECT_EQ(result->write.images_written, 1U);
  auto out = load_dataset(dir.str("out"));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->images.size(), 1U);
  EXPECT_EQ(out->images[0].file, "good.jpg");
}

TEST(Convert, StrictWritesNothingWhenTheSourceHasErrors) {
  TempDir dir;
  write_text(dir.path() / "src/classes.txt", "a\n");
  write_jpeg(dir.path() / "src/x.jpg", 40, 40, 1);
  write_text(dir.path() / "src/x.txt", "0 0.5 0.5 0.5\n");
  ConvertOptions options;
  options.to = DatasetFormat::kVoc;
  options.strict = true;
  auto result = convert_dataset(dir.str("src"), dir.str("out"), options);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("x.txt:1"), std::string::npos) << result.error().message;
  EXPECT_FALSE(fs::exists(dir.path() / "out"));
}

TEST(Convert, InvalidUtf8NamesDoNotStopTheCocoWriter) {
  TempDir dir;
  write_text(
      dir.path() / "src/Annotations/x.xml",
      "<annotation><filename>x.jpg</filename><size><width>40</width><height>40</height></size>"
      "<object><name>caf\xE9</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>"
      "</object></annotation>");
  write_jpeg(dir.path() / "src/JPEGImages/x.jpg", 40, 40, 1);
  ConvertOptions options;
  options.to = DatasetFormat::kCoco;
  auto result = convert_dataset(dir.str("src"), dir.str("out"), options);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->write.annotations_written, 1U);
  auto back = load_dataset(dir.str("out"));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->classes.size(), 1U);
  EXPECT_EQ(back->classes[0], "caf\xEF\xBF\xBD");  // U+FFFD replacement character
}

TEST(Convert, RefusesToWriteOverTheSource) {
  TempDir dir;
  write_text(dir.path() / "classes.txt", "a\n");
  ConvertOptions options;
  options.to = DatasetFormat::kYolo;
  auto result = convert_dataset(dir.str(), dir.str(), options);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
}

TEST(Convert, CrowdRegionsAreReportedWhenTheTargetCannotHoldThem) {
  TempDir dir;
  write_text(dir.path() / "src/annotations/instances_default.json", R"({
    "images": [{"id": 1, "file_name": "x.jpg", "width": 40, "height": 40}],
    "categories": [{"id": 1, "name": "person"}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 40], "iscrowd": 1},
                    {"id": 2, "image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 10], "iscrowd": 0}]})");
  write_jpeg(dir.path() / "src/images/x.jpg", 40, 40, 1);
  for (DatasetFormat to : {DatasetFormat::kYolo, DatasetFormat::kVoc}) {
    ConvertOptions options;
    options.to = to;
    auto result =
        convert_dataset(dir.str("src"), dir.str(std::string("out_") + std::string(format_name(to))), options);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->write.annotations_written, 1U);
    std::size_t crowd = 0;
    for (const auto& [what, count] : result->write.not_representable) {
      if (what.find("crowd") != std::string::npos) crowd += count;
    }
    EXPECT_EQ(crowd, 1U) << format_name(to);
  }
}

}  // namespace
}  // namespace visearch::dataset
