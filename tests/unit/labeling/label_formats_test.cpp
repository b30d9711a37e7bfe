// LabelProject saves through the COCO and Pascal VOC writers: the data-set readers read back exactly the
// stored boxes, the rest of a COCO file is kept, format attributes survive through "ref", and the folders
// pass `visearch dataset check`.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "dataset/check.h"
#include "dataset/dataset.h"
#include "labeling/label_project.h"
#include "test_util.h"

namespace visearch::labeling {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::read_text;
using testing::TempDir;
using testing::write_jpeg;
using testing::write_text;

std::string id_of(const LabelProject& project, const std::string& key) {
  for (const ImageSummary& s : project.list()) {
    if (s.key == key) return s.id;
  }
  ADD_FAILURE() << "no image " << key;
  return "";
}

const dataset::ImageRecord* record_of(const dataset::Dataset& ds, const std::string& file_name) {
  for (const dataset::ImageRecord& r : ds.images) {
    if (fs::path(r.path).filename() == file_name) return &r;
  }
  return nullptr;
}

void expect_check_passes(const std::string& dir) {
  auto report = dataset::check_dataset(dir, {}, {});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->errors(), 0U) << dataset::to_text(*report);
}

TEST(LabelFormats, CocoFromRawPhotos) {
  TempDir dir;
  write_jpeg(dir.path() / "images" / "p1.jpg", 120, 80);
  write_jpeg(dir.path() / "images" / "p2.jpg", 60, 60);
  auto project = LabelProject::open({dir.str(), dataset::DatasetFormat::kCoco, {"bottle", "mug"}, {}});
  ASSERT_TRUE(project) << project.error().message;
  LabelProject& p = **project;
  ASSERT_EQ(p.list().size(), 2U);
  auto first =
      p.save(id_of(p, "images/p1.jpg"),
             R"({"version": 1, "boxes": [{"class_id": 1, "x1": 10.123, "y1": 5, "x2": 50, "y2": 45.5}]})");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->detail.label_file, "annotations/instances_default.json");
  auto second = p.save(id_of(p, "images/p2.jpg"),
                       R"({"version": 1, "boxes": [{"class_id": 0, "x1": 0, "y1": 0, "x2": 60, "y2": 60}]})");
  ASSERT_TRUE(second) << second.error().message;
  const json doc = json::parse(read_text(dir.path() / "annotations" / "instances_default.json"));
  ASSERT_EQ(doc["images"].size(), 2U);
  ASSERT_EQ(doc["annotations"].size(), 2U);
  EXPECT_EQ(doc["images"][0]["file_name"], "p1.jpg");
  EXPECT_EQ(doc["images"][0]["width"], 120);
  EXPECT_EQ(doc["annotations"][0]["bbox"], json::parse("[10.12, 5.0, 39.88, 40.5]"));
  EXPECT_EQ(doc["categories"][1]["name"], "mug");
  // Stored boxes are what the file says (2 decimals).
  EXPECT_NEAR(first->detail.annotations[0].box.x1, 10.12, 1e-9);

  auto ds = dataset::load_dataset(dir.str());
  ASSERT_TRUE(ds) << ds.error().message;
  EXPECT_EQ(ds->format, dataset::DatasetFormat::kCoco);
  const dataset::ImageRecord* p1 = record_of(*ds, "p1.jpg");
  ASSERT_NE(p1, nullptr);
  ASSERT_EQ(p1->annotations.size(), 1U);
  EXPECT_EQ(p1->annotations[0].class_id, 1);
  EXPECT_NEAR(p1->annotations[0].box.y2, 45.5, 1e-9);
  expect_check_passes(dir.str());

  // Reopened without --format: detected, and both images are reviewed.
  auto again = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->format(), dataset::DatasetFormat::kCoco);
  EXPECT_EQ((*again)->counts().reviewed, 2U);
}

TEST(LabelFormats, CocoSaveKeepsTheRestOfTheFile) {
  TempDir dir;
  write_jpeg(dir.path() / "images" / "a.jpg", 100, 100);
  write_jpeg(dir.path() / "images" / "b.jpg", 100, 100);
  write_jpeg(dir.path() / "images" / "new.jpg", 50, 40);  // not listed yet
  const json original = json::parse(R"({
    "info": {"description": "hand made", "year": 2024},
    "licenses": [{"id": 1, "name": "CC BY"}],
    "categories": [{"id": 5, "name": "cat", "supercategory": "animal"}, {"id": 9, "name": "dog", "supercategory": "animal"}],
    "images": [{"id": 10, "file_name": "a.jpg", "width": 100, "height": 100, "license": 1},
               {"id": 11, "file_name": "b.jpg", "width": 100, "height": 100}],
    "annotations": [
      {"id": 100, "image_id": 10, "category_id": 5, "bbox": [10, 10, 20, 20], "area": 300, "iscrowd": 0,
       "segmentation": [[10, 10, 30, 10, 30, 30]], "attributes": {"occluded": true}},
      {"id": 101, "image_id": 10, "category_id": 9, "bbox": [50, 50, 10, 10], "area": 100, "iscrowd": 0},
      {"id": 200, "image_id": 11, "category_id": 9, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0}]})");
  write_text(dir.path() / "annotations" / "instances_default.json", original.dump(2));
  auto project = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_TRUE(project) << project.error().message;
  LabelProject& p = **project;
  EXPECT_EQ(p.classes(), (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(p.list().size(), 3U);
  EXPECT_EQ(p.list(ImageStatus::kUnlabelled).size(), 1U);
  // Keep box 0 unchanged (ref 0), move box 1 (ref 1), add one.
  auto saved = p.save(id_of(p, "images/a.jpg"), R"({"version": 1, "boxes": [
      {"class_id": 0, "x1": 10, "y1": 10, "x2": 30, "y2": 30, "ref": 0},
      {"class_id": 1, "x1": 60, "y1": 60, "x2": 70, "y2": 70, "ref": 1},
      {"class_id": 1, "x1": 0, "y1": 0, "x2": 5, "y2": 5}]})");
  ASSERT_TRUE(saved) << saved.error().message;
  ASSERT_FALSE(saved->history_file.empty());
  const json history = json::parse(read_text(saved->history_file));
  EXPECT_EQ(history["annotations"].size(), 2U);
  auto added = p.save(id_of(p, "images/new.jpg"),
                      R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 1, "x2": 49, "y2": 39}]})");
  ASSERT_TRUE(added) << added.error().message;

  const json doc = json::parse(read_text(dir.path() / "annotations" / "instances_default.json"));
  EXPECT_EQ(doc["info"], original["info"]);
  EXPECT_EQ(doc["licenses"], original["licenses"]);
  EXPECT_EQ(doc["categories"], original["categories"]);
  ASSERT_EQ(doc["images"].size(), 3U);
  EXPECT_EQ(doc["images"][0]["license"], 1);
  EXPECT_EQ(doc["images"][2]["id"], 12);
  EXPECT_EQ(doc["images"][2]["file_name"], "new.jpg");
  std::map<std::int64_t, json> by_id;
  for (const json& a : doc["annotations"]) by_id[a["id"].get<std::int64_t>()] = a;
  ASSERT_EQ(by_id.size(), 5U);
  EXPECT_EQ(by_id[200], original["annotations"][2]);                                  // b.jpg untouched
  EXPECT_EQ(by_id[100]["segmentation"], original["annotations"][0]["segmentation"]);  // unchanged box
  EXPECT_EQ(by_id[100]["attributes"]["occluded"], true);
  EXPECT_EQ(by_id[101]["segmentation"], json::array());  // moved: polygon dropped
  EXPECT_EQ(by_id[101]["bbox"], json::parse("[60.0, 60.0, 10.0, 10.0]"));
  EXPECT_EQ(by_id[201]["image_id"], 10);
  EXPECT_EQ(by_id[202]["image_id"], 12);
  EXPECT_EQ(by_id[202]["category_id"], 5);
  expect_check_passes(dir.str());
}

TEST(LabelFormats, VocDevkitKeepsAttributesAndAddsFiles) {
  TempDir dir;
  write_jpeg(dir.path() / "JPEGImages" / "x.jpg", 100, 80);
  write_jpeg(dir.path() / "JPEGImages" / "y.jpg", 90, 70);
  write_text(dir.path() / "Annotations" / "x.xml",
             R"(<annotation><folder>VOC</folder><filename>x.jpg</filename>
<size><width>100</width><height>80</height><depth>3</depth></size>
<object><name>dog</name><pose>Left</pose><truncated>1</truncated><difficult>1</difficult>
<bndbox><xmin>10</xmin><ymin>10</ymin><xmax>50</xmax><ymax>40</ymax></bndbox></object></annotation>)");
  auto project = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {"cat", "dog"}, {}});
  ASSERT_TRUE(project) << project.error().message;
  LabelProject& p = **project;
  EXPECT_EQ(p.format(), dataset::DatasetFormat::kVoc);
  EXPECT_EQ(p.classes(), (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(p.list().size(), 2U);
  auto x = p.save(id_of(p, "JPEGImages/x.jpg"), R"({"version": 1, "boxes": [
      {"class_id": 1, "x1": 12.4, "y1": 10, "x2": 50, "y2": 40.6, "ref": 0},
      {"class_id": 0, "x1": 60, "y1": 10, "x2": 90, "y2": 70}]})");
  ASSERT_TRUE(x) << x.error().message;
  ASSERT_EQ(x->detail.annotations.size(), 2U);
  EXPECT_EQ(x->detail.annotations[0].box.x1, 12);  // VOC stores whole pixels
  EXPECT_EQ(x->detail.annotations[0].box.y2, 41);
  EXPECT_EQ(x->detail.annotations[0].difficult, std::optional<bool>(true));
  EXPECT_EQ(x->detail.annotations[0].pose, "Left");
  const std::string xml = read_text(dir.path() / "Annotations" / "x.xml");
  EXPECT_NE(xml.find("<difficult>1</difficult>"), std::string::npos);
  EXPECT_NE(xml.find("<folder>VOC</folder>"), std::string::npos);
  auto y = p.save(id_of(p, "JPEGImages/y.jpg"),
                  R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 1, "x2": 89, "y2": 69}]})");
  ASSERT_TRUE(y) << y.error().message;
  EXPECT_EQ(y->detail.label_file, "Annotations/y.xml");
  EXPECT_EQ(read_text(dir.path() / "classes.txt"), "cat\ndog\n");
  auto ds = dataset::load_dataset(dir.str());
  ASSERT_TRUE(ds) << ds.error().message;
  const dataset::ImageRecord* ry = record_of(*ds, "y.jpg");
  ASSERT_NE(ry, nullptr);
  EXPECT_EQ(ry->width, 90);
  ASSERT_EQ(ry->annotations.size(), 1U);
  EXPECT_EQ(ds->classes.at(static_cast<std::size_t>(ry->annotations[0].class_id)), "cat");
  expect_check_passes(dir.str());
}

TEST(LabelFormats, VocFromRawPhotosWritesBesideTheImages) {
  TempDir dir;
  write_jpeg(dir.path() / "a.jpg", 40, 30);
  {
    auto project = LabelProject::open({dir.str(), dataset::DatasetFormat::kVoc, {"thing"}, {}});
    ASSERT_TRUE(project) << project.error().message;
    auto saved = (*project)->save(
        id_of(**project, "a.jpg"),
        R"({"version": 1, "boxes": [{"class_id": 0, "x1": 2, "y1": 3, "x2": 20, "y2": 25}]})");
    ASSERT_TRUE(saved) << saved.error().message;
    EXPECT_EQ(saved->detail.label_file, "a.xml");
  }
  auto again = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->format(), dataset::DatasetFormat::kVoc);
  EXPECT_EQ((*again)->counts().reviewed, 1U);
  expect_check_passes(dir.str());
}

TEST(LabelFormats, VocAnnotationFolderWithImagesElsewhere) {
  // The voc2012-sample100 layout: gts/pascalvoc_format/*.xml, images in ../../images.
  const fs::path voc = fs::path(VISEARCH_SHARED_DIR) / "data" / "voc2012-sample100";
  ASSERT_TRUE(fs::is_directory(voc)) << "shared data missing: " << voc;
  TempDir dir;
  fs::create_directories(dir.path() / "gts" / "pascalvoc_format");
  fs::create_directories(dir.path() / "images");
  for (const char* stem : {"2007_000027", "2007_000032"}) {
    fs::copy_file(voc / "gts" / "pascalvoc_format" / (std::string(stem) + ".xml"),
                  dir.path() / "gts" / "pascalvoc_format" / (std::string(stem) + ".xml"));
    fs::copy_file(voc / "images" / (std::string(stem) + ".jpg"),
                  dir.path() / "images" / (std::string(stem) + ".jpg"));
  }
  const std::string ann = (dir.path() / "gts" / "pascalvoc_format").string();
  auto project = LabelProject::open({ann, dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_TRUE(project) << project.error().message;
  LabelProject& p = **project;
  EXPECT_EQ(p.format(), dataset::DatasetFormat::kVoc);
  ASSERT_EQ(p.list().size(), 2U);
  const std::string id = id_of(p, "../../images/2007_000027.jpg");
  auto detail = p.image(id);
  ASSERT_TRUE(detail);
  ASSERT_EQ(detail->annotations.size(), 1U);
  EXPECT_EQ(detail->label_file, "2007_000027.xml");
  auto saved = p.save(
      id,
      R"({"version": 1, "boxes": [{"class": "person", "x1": 174, "y1": 101, "x2": 349, "y2": 351, "ref": 0},
                                                       {"class": "person", "x1": 10, "y1": 10, "x2": 60, "y2": 90}]})");
  ASSERT_TRUE(saved) << saved.error().message;
  // The history stays inside .visearch even for images outside the folder.
  EXPECT_EQ(fs::path(saved->history_file).lexically_relative(ann).generic_string(),
            ".visearch/history/_parent_/_parent_/images/2007_000027.jpg.v1.xml.bak");
  EXPECT_TRUE(fs::is_regular_file(saved->history_file));
  const std::string xml = read_text(dir.path() / "gts" / "pascalvoc_format" / "2007_000027.xml");
  EXPECT_NE(xml.find("<folder>VOC2012</folder>"), std::string::npos);
  EXPECT_NE(xml.find("<xmin>10</xmin>"), std::string::npos);
  expect_check_passes(ann);
}

TEST(LabelFormats, ExistingYoloLabelsOfCoco128AreReadAsReviewed) {
  const fs::path coco128 = fs::path(VISEARCH_SHARED_DIR) / "data" / "coco128-train2017";
  ASSERT_TRUE(fs::is_directory(coco128)) << "shared data missing: " << coco128;
  TempDir dir;
  fs::create_directories(dir.path() / "images" / "train2017");
  fs::create_directories(dir.path() / "labels" / "train2017");
  for (const char* stem : {"000000000009", "000000000250"}) {
    fs::copy_file(coco128 / "images" / "train2017" / (std::string(stem) + ".jpg"),
                  dir.path() / "images" / "train2017" / (std::string(stem) + ".jpg"));
    if (fs::exists(coco128 / "labels" / "train2017" / (std::string(stem) + ".txt"))) {
      fs::copy_file(coco128 / "labels" / "train2017" / (std::string(stem) + ".txt"),
                    dir.path() / "labels" / "train2017" / (std::string(stem) + ".txt"));
    }
  }
  fs::copy_file(coco128 / "data.yaml", dir.path() / "data.yaml");
  auto project = LabelProject::open({dir.str(), dataset::DatasetFormat::kAuto, {}, {}});
  ASSERT_TRUE(project) << project.error().message;
  EXPECT_EQ((*project)->classes().size(), 80U);
  const auto reviewed = (*project)->list(ImageStatus::kReviewed);
  ASSERT_EQ(reviewed.size(), 1U);
  EXPECT_EQ(reviewed[0].key, "images/train2017/000000000009.jpg");
  EXPECT_EQ(reviewed[0].boxes, 8U);
  EXPECT_EQ((*project)->list(ImageStatus::kUnlabelled).size(), 1U);
}

}  // namespace
}  // namespace visearch::labeling
