// The real embedding model (mobilenetv2_embed) and the real default detector on the shared sample photos:
// embedding shape and normalisation, determinism, crop geometry, and the image analysis used by search.
#include <gtest/gtest.h>

#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/embedder.h"
#include "search/object_analysis.h"
#include "search/vector_index.h"

namespace visearch::search {
namespace {

Image load_sample(const std::string& name) {
  auto bytes = read_file_bytes(std::string(VISEARCH_SHARED_DIR) + "/data/samples/" + name, 64U << 20U);
  EXPECT_TRUE(bytes) << name;
  auto decoded = decode_image(*bytes, DecodeLimits{});
  EXPECT_TRUE(decoded) << name;
  return decoded->image;
}

class ModelsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const ModelRepository repository = ModelRepository::with_defaults({});
    RuntimeOptions runtime;
    runtime.intra_op_threads = 1;
    auto embed_spec = repository.find_spec("mobilenetv2_embed");
    ASSERT_TRUE(embed_spec) << embed_spec.error().message;
    auto embedder = Embedder::load(*embed_spec, repository, runtime);
    ASSERT_TRUE(embedder) << embedder.error().message;
    embedder_ = embedder->release();
    static FamilyRegistry families;
    register_all_families(families);
    auto detect_spec = repository.find_spec("picodet_s_416");
    ASSERT_TRUE(detect_spec);
    auto detector = Detector::load(*detect_spec, repository, families, runtime);
    ASSERT_TRUE(detector) << detector.error().message;
    detector_ = detector->release();
  }
  static void TearDownTestSuite() {
    delete embedder_;
    delete detector_;
  }
  static Embedder* embedder_;
  static Detector* detector_;
};
Embedder* ModelsTest::embedder_ = nullptr;
Detector* ModelsTest::detector_ = nullptr;

TEST_F(ModelsTest, EmbeddingsAreUnitLengthNonNegativeAndDeterministic) {
  EXPECT_EQ(embedder_->dimension(), 1280);
  const Image image = load_sample("000000002592.jpg");
  auto a = embedder_->embed(image);
  auto b = embedder_->embed(image);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), 1280U);
  EXPECT_EQ(*a, *b);
  EXPECT_NEAR(dot(a->data(), a->data(), a->size()), 1.0, 1e-4);
  for (float x : *a) EXPECT_GE(x, 0.F);  // dequantised post-ReLU6 averages
}

TEST_F(ModelsTest, SimilarCropsAreCloserThanUnrelatedOnes) {
  const Image mug = load_sample("000000002592.jpg");  // a mug at about (220, 40)-(430, 235)
  const Image bus = load_sample("bus.jpg");
  auto mug_crop = embedder_->embed_region(mug, ImageBox{220, 40, 430, 235});
  auto mug_shifted = embedder_->embed_region(mug, ImageBox{230, 45, 440, 240});
  auto bus_whole = embedder_->embed(bus);
  ASSERT_TRUE(mug_crop && mug_shifted && bus_whole);
  const float same = dot(mug_crop->data(), mug_shifted->data(), 1280);
  const float different = dot(mug_crop->data(), bus_whole->data(), 1280);
  EXPECT_GT(same, 0.8F);
  EXPECT_GT(same, different + 0.2F);
}

TEST_F(ModelsTest, RegionsAreCheckedAndCropped) {
  const Image image = load_sample("000000002592.jpg");
  EXPECT_EQ(embedder_->embed_region(image, ImageBox{5000, 5000, 6000, 6000}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(embedder_->embed(Image{}));
  auto crop = crop_image(image, ImageBox{-10.F, 10.2F, 20.5F, 30.F});
  ASSERT_TRUE(crop);
  EXPECT_EQ(crop->width, 21);   // clipped at 0, rounded outwards to 21
  EXPECT_EQ(crop->height, 20);  // floor(10.2) = 10 .. 30
  EXPECT_EQ(crop->pixels[0], image.pixels[static_cast<std::size_t>(10) * image.row_bytes()]);
}

TEST_F(ModelsTest, LoadRefusesADetectorSpec) {
  const ModelRepository repository = ModelRepository::with_defaults({});
  auto spec = repository.find_spec("picodet_s_416");
  ASSERT_TRUE(spec);
  EXPECT_EQ(Embedder::load(*spec, repository, {}).error().code, ErrorCode::kInvalidArgument);
  ModelSpec no_output = *repository.find_spec("mobilenetv2_embed");
  no_output.decoder["output"] = "logits_that_do_not_exist";
  EXPECT_EQ(Embedder::load(no_output, repository, {}).error().code, ErrorCode::kInvalidSpec);
}

TEST_F(ModelsTest, QueryAnalysisFindsTheObjectsOrTheGivenRegion) {
  const Image image = load_sample("000000002592.jpg");
  auto all = analyze_query_image(image, *detector_, *embedder_, QueryAnalysisOptions{});
  ASSERT_TRUE(all) << all.error().message;
  bool cup = false;
  for (const QueryObject& o : all->objects) {
    EXPECT_EQ(o.embedding.size(), 1280U);
    EXPECT_FALSE(o.whole_image);
    cup = cup || o.label == "cup";
  }
  EXPECT_TRUE(cup);

  QueryAnalysisOptions region;
  region.region = ImageBox{215, 35, 435, 240};  // overlaps the detected mug: its label
  auto one = analyze_query_image(image, *detector_, *embedder_, region);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->objects.size(), 1U);
  EXPECT_EQ(one->objects[0].label, "cup");
  EXPECT_EQ(one->objects[0].box, *region.region);

  region.region = ImageBox{9000, 9000, 9100, 9100};
  EXPECT_EQ(analyze_query_image(image, *detector_, *embedder_, region).error().code,
            ErrorCode::kInvalidArgument);

  // A flat grey picture has no objects: the whole image stands for one.
  Image grey = Image::allocate(200, 150);
  std::fill(grey.pixels.begin(), grey.pixels.end(), std::uint8_t{128});
  auto nothing = analyze_query_image(grey, *detector_, *embedder_, QueryAnalysisOptions{});
  ASSERT_TRUE(nothing);
  ASSERT_EQ(nothing->objects.size(), 1U);
  EXPECT_TRUE(nothing->objects[0].whole_image);
  EXPECT_EQ(nothing->objects[0].box, (ImageBox{0, 0, 200, 150}));
}

TEST(RegionDetection, AConfidentBoxWinsOverAWeakOneThatFitsTheRegionSlightlyBetter) {
  const ImageBox region{100, 100, 200, 200};
  // A weak "person" box fitting the region at IoU 0.81 and a confident "chair" box at IoU 0.64.
  const std::vector<Detection> detections{{ImageBox{100, 100, 190, 190}, 0, 0.2F},
                                          {ImageBox{100, 100, 180, 180}, 56, 0.9F},
                                          {ImageBox{0, 0, 60, 60}, 2, 0.99F}};  // elsewhere
  const Detection* chosen = region_detection(detections, region);
  ASSERT_NE(chosen, nullptr);
  EXPECT_EQ(chosen->class_id, 56);
  // Below IoU 0.5 nothing labels the region, however confident.
  EXPECT_EQ(region_detection({{ImageBox{100, 100, 140, 140}, 3, 0.99F}}, region), nullptr);
  EXPECT_EQ(region_detection({}, region), nullptr);
  // Alike in score, the better fit wins.
  const std::vector<Detection> alike{{ImageBox{100, 100, 180, 180}, 1, 0.5F},
                                     {ImageBox{100, 100, 195, 195}, 2, 0.5F}};
  EXPECT_EQ(region_detection(alike, region)->class_id, 2);
}

TEST_F(ModelsTest, AMarkedRegionIsLabelledFromDetectionsBelowTheDetectorsThreshold) {
  // Doubtful detections (between the region-label threshold and the spec's) that no confident one
  // overlaps: a shopper marking such an object gets its label, not an unlabelled region.
  const float spec_threshold = detector_->spec().defaults.score_threshold;
  ASSERT_LT(kRegionLabelThreshold, spec_threshold);
  int checked = 0;
  for (const char* name : {"dog.jpg", "bus.jpg", "000000000139.jpg", "000000002592.jpg"}) {
    const Image image = load_sample(name);
    DetectOptions low;
    low.score_threshold = kRegionLabelThreshold;
    auto all = detector_->detect(image, low);
    ASSERT_TRUE(all);
    for (const Detection& d : all->detections) {
      if (d.score >= spec_threshold) continue;
      bool overlapped = false;
      for (const Detection& other : all->detections)
        overlapped = overlapped || (&other != &d && other.score > d.score && iou(other.box, d.box) >= 0.5F);
      if (overlapped || d.box.width() < 8.F || d.box.height() < 8.F) continue;
      QueryAnalysisOptions options;
      options.region = d.box;
      auto analysis = analyze_query_image(image, *detector_, *embedder_, options);
      ASSERT_TRUE(analysis) << analysis.error().message;
      ASSERT_EQ(analysis->objects.size(), 1U);
      EXPECT_EQ(analysis->objects[0].label, detector_->spec().labels.at(static_cast<std::size_t>(d.class_id)))
          << name;
      EXPECT_FLOAT_EQ(analysis->objects[0].score, d.score) << name;
      ++checked;
    }
  }
  EXPECT_GE(checked, 1) << "no doubtful detection on the sample photos to check with";
}

TEST_F(ModelsTest, ProductAnalysisKeepsTheMainObject) {
  const Image image = load_sample("000000002592.jpg");
  auto crop = crop_image(image, ImageBox{200, 20, 450, 255});  // a product shot of the mug
  ASSERT_TRUE(crop);
  auto objects = analyze_product_image(*crop, 3, *detector_, *embedder_);
  ASSERT_TRUE(objects) << objects.error().message;
  ASSERT_FALSE(objects->empty());
  EXPECT_LE(objects->size(), 2U);
  EXPECT_EQ(objects->front().label, "cup");
  EXPECT_EQ(objects->front().image_n, 3);
  EXPECT_GT(objects->front().box.area(), 0.1F * static_cast<float>(crop->width * crop->height));
}

}  // namespace
}  // namespace visearch::search
