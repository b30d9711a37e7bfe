// The demo catalog's product photos and titles (search/demo_catalog.h): the crop's margin and its clamping
// to the image, objects too small or too thin to show skipped, titles worded per label; then the same rules
// on the real coco128 set with the retrieval benchmark's flags (the 74x184 px bus strip of 000000000260.jpg).
#include "search/demo_catalog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/image_decode.h"
#include "test_util.h"

namespace visearch::search {
namespace {

using testing::TempDir;
using testing::write_file;

constexpr std::uint8_t kBackground = 30;  // grey level around the object
constexpr std::uint8_t kObject = 220;     // grey level inside the object's box

// A w x h image, dark outside `box` and light inside it, written as a lossless-enough JPEG.
std::string write_scene(const TempDir& dir, const std::string& name, int w, int h, const ImageBox& box) {
  Image image = Image::allocate(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const bool inside = static_cast<float>(x) >= box.x1 && static_cast<float>(x) < box.x2 &&
                          static_cast<float>(y) >= box.y1 && static_cast<float>(y) < box.y2;
      std::uint8_t* px = image.row(y) + static_cast<std::size_t>(x) * Image::kChannels;
      px[0] = px[1] = px[2] = inside ? kObject : kBackground;
    }
  }
  auto jpeg = encode_jpeg(image, 95);
  EXPECT_TRUE(jpeg.has_value());
  const std::string path = dir.file(name);
  write_file(path, std::string(jpeg->begin(), jpeg->end()));
  return path;
}

LabelMapping test_mapping() {
  auto mapping = LabelMapping::parse(R"({"version": 1, "labels": {
    "person": {"categories": ["Apparel"], "keywords": ["clothing", "outfit", "jacket", "shirt", "apparel"]},
    "bus": {"categories": ["Buses"], "keywords": ["bus", "coach"]},
    "elephant": {"categories": ["Wildlife Figurines"], "keywords": ["elephant"]},
    "orange": {"categories": ["Fruit"], "keywords": ["orange", "citrus", "fruit"]},
    "chair": {"categories": ["Chairs"], "keywords": ["chair", "seat", "armchair"]}}})",
                                     "test");
  EXPECT_TRUE(mapping.has_value()) << (mapping ? "" : mapping.error().message);
  return mapping ? *mapping : LabelMapping{};
}

DemoOptions full_size_options() {
  DemoOptions options;
  options.min_side = 48;
  options.max_per_label = 100;
  options.max_image_side = 4000;  // no scaling: crop sizes can be read back from the JPEGs
  return options;
}

struct Written {
  DemoReport report;
  std::vector<nlohmann::json> products;
};

Written write(const std::vector<LabelledBox>& boxes, const std::string& out, const DemoOptions& options) {
  auto report = write_demo_catalog(boxes, test_mapping(), out, options);
  EXPECT_TRUE(report.has_value()) << (report ? "" : report.error().message);
  Written written;
  if (report) written.report = *report;
  std::ifstream in(out + "/products.jsonl");
  std::string line;
  while (std::getline(in, line)) written.products.push_back(nlohmann::json::parse(line));
  return written;
}

Image read_photo(const std::string& out, const nlohmann::json& product) {
  auto bytes = read_file_bytes(out + "/" + product["images"][0].get<std::string>(), 1U << 24U);
  EXPECT_TRUE(bytes.has_value());
  if (!bytes) return {};
  auto decoded = decode_image(*bytes, DecodeLimits{});
  EXPECT_TRUE(decoded.has_value());
  return decoded ? std::move(decoded->image) : Image{};
}

int grey_at(const Image& image, int x, int y) {
  return image.row(y)[static_cast<std::size_t>(x) * Image::kChannels];
}

TEST(DemoCatalogTest, CropHasAnEvenMarginOfTheLongerSide) {
  TempDir dir;
  const ImageBox object{170, 100, 230, 300};  // 60 x 200, in the middle of a 400 x 400 photo
  const std::string path = write_scene(dir, "scene.jpg", 400, 400, object);
  const auto written = write({LabelledBox{path, "test/scene.jpg", "chair", object, Size{400, 400}}},
                             dir.file("out"), full_size_options());
  ASSERT_EQ(written.products.size(), 1U);
  const Image photo = read_photo(dir.file("out"), written.products[0]);
  // 10 % of the longer side (20 px) on every side, the short side included: 100 x 240.
  EXPECT_EQ(photo.width, 100);
  EXPECT_EQ(photo.height, 240);
  // The margin is the scene around the object, on all four sides.
  EXPECT_LT(grey_at(photo, 5, 120), 80);
  EXPECT_LT(grey_at(photo, 94, 120), 80);
  EXPECT_LT(grey_at(photo, 50, 5), 80);
  EXPECT_LT(grey_at(photo, 50, 234), 80);
  EXPECT_GT(grey_at(photo, 50, 120), 170);
}

TEST(DemoCatalogTest, MarginIsClampedToTheImage) {
  TempDir dir;
  const ImageBox object{0, 100, 150, 250};  // square, touching the left edge of a 400 x 300 photo
  const std::string path = write_scene(dir, "edge.jpg", 400, 300, object);
  const LabelledBox box{path, "test/edge.jpg", "chair", object, Size{400, 300}};
  const ImageBox crop = demo_crop_box(box, full_size_options());
  EXPECT_FLOAT_EQ(crop.x1, 0.F);
  EXPECT_FLOAT_EQ(crop.y1, 85.F);
  EXPECT_FLOAT_EQ(crop.x2, 165.F);
  EXPECT_FLOAT_EQ(crop.y2, 265.F);
  const auto written = write({box}, dir.file("out"), full_size_options());
  ASSERT_EQ(written.products.size(), 1U);
  const Image photo = read_photo(dir.file("out"), written.products[0]);
  EXPECT_EQ(photo.width, 165);
  EXPECT_EQ(photo.height, 180);
  EXPECT_GT(grey_at(photo, 1, 90), 170);  // the object reaches the photo's left edge: no invented padding
  EXPECT_LT(grey_at(photo, 160, 90), 80);
}

TEST(DemoCatalogTest, SmallAndStripCropsAreSkipped) {
  TempDir dir;
  const ImageBox small{200, 100, 250, 150};               // 50 x 50: a 60 px photo, too small to show
  const ImageBox bus_strip{2.26F, 93.8F, 68.4F, 251.6F};  // 000000000260.jpg's bus, cut by the left edge
  const ImageBox thin{300, 40, 348, 290};                 // 48 x 250: a 98 x 300 photo, over 3:1
  const ImageBox cut_wide{100, 0, 400, 100};              // 300 x 100, cut by the top edge: the largest
  const ImageBox good{150, 180, 270, 300};                // 120 x 120
  const std::string path = write_scene(dir, "strips.jpg", 500, 333, good);
  std::vector<LabelledBox> boxes;
  for (const ImageBox& b : {small, bus_strip, thin, cut_wide, good}) {
    boxes.push_back(LabelledBox{path, "test/strips.jpg", "bus", b, Size{500, 333}});
  }
  const DemoOptions options = full_size_options();
  EXPECT_EQ(demo_verdict(boxes[0], options), DemoVerdict::kTooSmall);
  EXPECT_EQ(demo_verdict(boxes[1], options), DemoVerdict::kStrip);
  EXPECT_EQ(demo_verdict(boxes[2], options), DemoVerdict::kStrip);
  EXPECT_EQ(demo_verdict(boxes[3], options), DemoVerdict::kStrip);
  EXPECT_EQ(demo_verdict(boxes[4], options), DemoVerdict::kProduct);
  const auto written = write(boxes, dir.file("out"), options);
  ASSERT_EQ(written.products.size(), 1U);
  EXPECT_EQ(written.report.skipped_small, 1);
  EXPECT_EQ(written.report.skipped_strips, 3);
  const Image photo = read_photo(dir.file("out"), written.products[0]);
  EXPECT_EQ(photo.width, 144);
  EXPECT_EQ(photo.height, 144);

  // A tall object cut by the top or bottom edge (a person whose feet are out of the picture) is kept, and
  // so is the same strip in the middle of the photo (its shape alone is no reason).
  const LabelledBox cut_tall{path, "test/strips.jpg", "person", ImageBox{200, 133, 280, 333}, Size{500, 333}};
  EXPECT_EQ(demo_verdict(cut_tall, options), DemoVerdict::kProduct);
  const LabelledBox inner_strip{path, "test/strips.jpg", "bus", ImageBox{100, 90, 166, 248}, Size{500, 333}};
  EXPECT_EQ(demo_verdict(inner_strip, options), DemoVerdict::kProduct);
  // Skipped objects leave room: with max_per_label 1 the largest *good* object is the product.
  DemoOptions one = options;
  one.max_per_label = 1;
  const auto first = write(boxes, dir.file("one"), one);
  ASSERT_EQ(first.products.size(), 1U);
  EXPECT_EQ(read_photo(dir.file("one"), first.products[0]).width, 144);
}

TEST(DemoCatalogTest, TitlesSayWhatThePhotoShows) {
  TempDir dir;
  const ImageBox object{100, 40, 220, 300};
  const std::string path = write_scene(dir, "thing.jpg", 400, 400, object);
  std::vector<LabelledBox> boxes;
  for (const char* label : {"person", "bus", "elephant", "orange", "chair"}) {
    for (int copy = 0; copy < 6; ++copy) {
      boxes.push_back(LabelledBox{path, "test/thing.jpg", label, object, Size{400, 400}});
    }
  }
  const auto written = write(boxes, dir.file("out"), full_size_options());
  ASSERT_EQ(written.products.size(), 30U);
  std::map<std::string, std::vector<std::string>> titles;
  for (const auto& p : written.products) {
    titles[p["attributes"]["object"].get<std::string>()].push_back(p["title"].get<std::string>());
  }
  for (const std::string& t : titles["person"]) {
    // A photo of a whole person is an outfit, never a jacket or a shirt.
    EXPECT_NE(t.find("Outfit"), std::string::npos) << t;
    EXPECT_EQ(t.find("Jacket"), std::string::npos) << t;
    EXPECT_EQ(t.find("Shirt"), std::string::npos) << t;
    EXPECT_EQ(t.find("Clothing"), std::string::npos) << t;
  }
  for (const std::string& t : titles["bus"]) {
    EXPECT_NE(t.find("Model"), std::string::npos) << t;  // a bus for a few euros is a scale model
  }
  for (const std::string& t : titles["elephant"]) EXPECT_NE(t.find("Figurine"), std::string::npos) << t;
  for (const std::string& t : titles["orange"]) {
    EXPECT_NE(t.find("Orange"), std::string::npos) << t;
    EXPECT_EQ(t.find("White"), std::string::npos) << t;  // no colour on food ("White Orange")
  }
  for (const std::string& t : titles["chair"]) {
    EXPECT_TRUE(t.find("Chair") != std::string::npos || t.find("Seat") != std::string::npos ||
                t.find("Armchair") != std::string::npos)
        << t;
    EXPECT_NE(t.find("White"), std::string::npos) << t;  // the object's colour
  }
  for (const auto& p : written.products) {
    if (p["attributes"]["object"] == "bus") {
      EXPECT_LT(p["price"].get<double>(), 200.0);
    }
  }
  // Deterministic: the same input gives the same file.
  const auto again = write(boxes, dir.file("again"), full_size_options());
  ASSERT_EQ(again.products.size(), written.products.size());
  for (std::size_t i = 0; i < again.products.size(); ++i) EXPECT_EQ(again.products[i], written.products[i]);
  // demo_title is what the file holds.
  EXPECT_EQ(demo_title("person", LabelTerms{{"Apparel"}, {"clothing", "outfit", "jacket"}}, "Orla", "Urban",
                       "black", 0),
            "Orla Urban Black Outfit");
}

// The retrieval benchmark's catalog (bench/search_retrieval.sh: coco128, 20 per label, --min-side 48).
TEST(DemoCatalogTest, Coco128CatalogHasNoStripsOrTinyPhotos) {
  const std::string root = std::string(VISEARCH_SHARED_DIR) + "/data/coco128-train2017";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << root << " is missing";
  auto boxes = read_yolo_boxes(root, "coco128");
  ASSERT_TRUE(boxes.has_value()) << boxes.error().message;
  for (const LabelledBox& b : *boxes) ASSERT_GT(b.image_size.width, 0) << b.image_path;
  auto mapping = LabelMapping::load(std::string(VISEARCH_SOURCE_DIR) + "/data/search/label_mapping.json");
  ASSERT_TRUE(mapping.has_value());
  TempDir dir;
  DemoOptions options;
  options.min_side = 48;
  options.max_per_label = 20;
  auto report = write_demo_catalog(*boxes, *mapping, dir.path(), options);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_GT(report->products, 250);
  EXPECT_GT(report->skipped_small, 0);
  EXPECT_GT(report->skipped_strips, 0);
  std::ifstream in(dir.file("products.jsonl"));
  std::string line;
  int people = 0;
  while (std::getline(in, line)) {
    const auto p = nlohmann::json::parse(line);
    const std::string source = p["attributes"]["source"].get<std::string>();
    const std::string object = p["attributes"]["object"].get<std::string>();
    EXPECT_FALSE(source == "coco128/000000000260.jpg" && object == "bus") << "the bus strip is a product";
    const Image photo = read_photo(dir.path(), p);
    const int long_side = std::max(photo.width, photo.height);
    const int short_side = std::min(photo.width, photo.height);
    EXPECT_GE(long_side, options.min_photo_side) << p["id"];
    EXPECT_LE(long_side, short_side * 3 + 1) << p["id"];
    if (object == "person") {
      ++people;
      EXPECT_NE(p["title"].get<std::string>().find("Outfit"), std::string::npos) << p["title"];
    }
  }
  EXPECT_GT(people, 0);
}

}  // namespace
}  // namespace visearch::search
