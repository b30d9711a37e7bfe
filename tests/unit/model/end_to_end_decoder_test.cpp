// The end-to-end layouts (tf_od_api, torchvision, detr, yolo_end2end) on generated graphs whose outputs we
// control (tools/make_test_models.py): each decodes, through Detector, to exactly the boxes its outputs
// encode in original-image pixels (tests/data/models/end_to_end_expected.json, worked out by hand), with
// uint8 NHWC, CHW and dynamic keep-aspect inputs, letterbox and stretch; and the spec fields they read.
#include <gtest/gtest.h>

#include <fstream>

#include "families/all_families.h"
#include "model/detector.h"
#include "model/preprocess.h"

namespace visearch {
namespace {

const std::string kModels = std::string(VISEARCH_TEST_DATA_DIR) + "/models";

const FamilyRegistry& families() {
  return shipped_families();
}

nlohmann::json expected_all() {
  std::ifstream in(kModels + "/end_to_end_expected.json");
  return nlohmann::json::parse(in);
}

const ModelRepository& repo() {
  static const ModelRepository repository({kModels}, {kModels});
  return repository;
}

Result<std::unique_ptr<Detector>> load_spec(const nlohmann::json& doc) {
  auto spec = parse_model_spec(doc, "inline spec");
  if (!spec) return spec.error();
  return Detector::load(*spec, repo(), families(), RuntimeOptions{1, false});
}

nlohmann::json spec_json(const std::string& name) {
  std::ifstream in(kModels + "/" + name + ".json");
  return nlohmann::json::parse(in);
}

void expect_detections(const std::vector<Detection>& got, const nlohmann::json& want, const ModelSpec& spec) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("detection " + std::to_string(i));
    EXPECT_EQ(got[i].class_id, want[i]["class_id"].get<int>());
    EXPECT_EQ(spec.labels[static_cast<std::size_t>(got[i].class_id)], want[i]["label"].get<std::string>());
    EXPECT_NEAR(got[i].score, want[i]["score"].get<float>(), 1e-4);
    const auto box = want[i]["box"].get<std::vector<float>>();
    EXPECT_NEAR(got[i].box.x1, box[0], 1e-3);
    EXPECT_NEAR(got[i].box.y1, box[1], 1e-3);
    EXPECT_NEAR(got[i].box.x2, box[2], 1e-3);
    EXPECT_NEAR(got[i].box.y2, box[3], 1e-3);
  }
}

class EndToEndDecoderTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EndToEndDecoderTest, DecodesExactlyTheEncodedBoxesInImagePixels) {
  auto spec = repo().find_spec(GetParam());
  ASSERT_TRUE(spec) << spec.error().message;
  auto det = Detector::load(*spec, repo(), families(), RuntimeOptions{1, false});
  ASSERT_TRUE(det) << det.error().message;
  const nlohmann::json expected = expected_all();
  const Image image =
      Image::allocate(expected["image"]["width"].get<int>(), expected["image"]["height"].get<int>());
  auto out = (*det)->detect(image, DetectOptions{});
  ASSERT_TRUE(out) << out.error().message;
  expect_detections(out->detections, expected["models"][GetParam()], *spec);
}

TEST_P(EndToEndDecoderTest, ThresholdClassFilterAndMaxDetectionsStillApply) {
  auto spec = repo().find_spec(GetParam());
  ASSERT_TRUE(spec);
  auto det = Detector::load(*spec, repo(), families(), RuntimeOptions{1, false});
  ASSERT_TRUE(det);
  const Image image = Image::allocate(128, 64);
  const nlohmann::json want = expected_all()["models"][GetParam()];
  DetectOptions top1;
  top1.max_detections = 1;
  auto out = (*det)->detect(image, top1);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->detections.size(), 1U);
  EXPECT_NEAR(out->detections[0].score, want[0]["score"].get<float>(), 1e-4);

  DetectOptions strict;
  strict.score_threshold = want[0]["score"].get<float>() - 0.01F;
  out = (*det)->detect(image, strict);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->detections.size(), 1U);

  DetectOptions only_last;
  const int last_class = want.back()["class_id"].get<int>();
  only_last.classes = {last_class};
  out = (*det)->detect(image, only_last);
  ASSERT_TRUE(out);
  ASSERT_FALSE(out->detections.empty());
  for (const Detection& d : out->detections) EXPECT_EQ(d.class_id, last_class);
}

INSTANTIATE_TEST_SUITE_P(Layouts, EndToEndDecoderTest,
                         ::testing::Values("tf_od_tiny", "torchvision_tiny", "detr_tiny", "detr_split_tiny",
                                           "yolo_end2end_tiny"));

TEST(EndToEndSpec, KeepAspectInputFollowsTheImageInTheDeclaredLayoutAndType) {
  auto tv = parse_model_spec(spec_json("torchvision_tiny"), "torchvision_tiny");
  ASSERT_TRUE(tv) << tv.error().message;
  Image image = Image::allocate(128, 64);
  for (std::size_t i = 0; i < image.pixels.size(); i += 3) image.pixels[i] = 255;  // red
  PreparedInput p = preprocess_image(image, tv->preprocess);
  EXPECT_EQ(p.shape, (std::vector<std::int64_t>{3, 50, 100}));  // r = min(60/64, 100/128)
  EXPECT_EQ(p.tensor.size(), 3U * 50U * 100U);
  EXPECT_EQ(p.transform.input_size(), (Size{100, 50}));
  EXPECT_FLOAT_EQ(p.tensor[0], 1.F);         // 0..1 scaling, R plane first
  EXPECT_FLOAT_EQ(p.tensor[50 * 100], 0.F);  // then G

  auto tf = parse_model_spec(spec_json("tf_od_tiny"), "tf_od_tiny");
  ASSERT_TRUE(tf) << tf.error().message;
  Image small = Image::allocate(2, 1);
  small.pixels = {10, 20, 30, 40, 50, 60};
  p = preprocess_image(small, tf->preprocess);  // max_side alone never enlarges
  EXPECT_EQ(p.shape, (std::vector<std::int64_t>{1, 1, 2, 3}));
  EXPECT_TRUE(p.tensor.empty());
  EXPECT_EQ(p.bytes, (std::vector<std::uint8_t>{10, 20, 30, 40, 50, 60}));
  tf->preprocess.channel_order = ChannelOrder::kBgr;
  p = preprocess_image(small, tf->preprocess);
  EXPECT_EQ(p.bytes, (std::vector<std::uint8_t>{30, 20, 10, 60, 50, 40}));
}

TEST(EndToEndSpec, KeepAspectTransformMatchesTheTorchvisionRule) {
  // Shorter side 800, longer at most 1333: a 640x480 photo becomes 1066x800, a 2000x500 strip 1333x333.
  auto t = InputTransform::make_keep_aspect(Size{640, 480}, 800, 1333);
  EXPECT_EQ(t.input_size(), (Size{1066, 800}));
  t = InputTransform::make_keep_aspect(Size{2000, 500}, 800, 1333);
  EXPECT_EQ(t.input_size(), (Size{1333, 333}));
  const ImageBox back = t.to_image(t.to_input(ImageBox{100, 50, 1000, 400}));
  EXPECT_NEAR(back.x1, 100.F, 1e-3);
  EXPECT_NEAR(back.y2, 400.F, 1e-3);
  t = InputTransform::make_keep_aspect(Size{300, 200}, 0, 0);
  EXPECT_EQ(t.input_size(), (Size{300, 200}));
}

TEST(EndToEndSpec, RejectsInconsistentInputDeclarations) {
  nlohmann::json doc = spec_json("torchvision_tiny");
  doc["input"]["width"] = 100;
  EXPECT_FALSE(parse_model_spec(doc, "x"));  // keep_aspect takes min_side / max_side
  doc = spec_json("yolo_end2end_tiny");
  doc["input"]["max_side"] = 100;
  EXPECT_FALSE(parse_model_spec(doc, "x"));  // min_side / max_side belong to keep_aspect
  doc = spec_json("tf_od_tiny");
  doc["input"]["scale"] = 0.5;
  EXPECT_FALSE(parse_model_spec(doc, "x"));  // uint8 takes the pixels as they are
  doc = spec_json("tf_od_tiny");
  doc["input"]["layout"] = "hwc";
  EXPECT_FALSE(parse_model_spec(doc, "x"));
  doc = spec_json("torchvision_tiny");
  doc["input"]["min_side"] = 200;
  EXPECT_FALSE(parse_model_spec(doc, "x"));  // min_side over max_side
}

TEST(EndToEndSpec, TheGraphInputMustMatchTheDeclaredLayout) {
  nlohmann::json doc = spec_json("tf_od_tiny");
  doc["input"]["layout"] = "nchw";
  auto det = load_spec(doc);  // [1,h,w,3] read as NCHW: 3 channels expected at axis 1
  ASSERT_FALSE(det);
  EXPECT_EQ(det.error().code, ErrorCode::kInvalidSpec);
  doc = spec_json("torchvision_tiny");
  doc["input"]["layout"] = "nchw";
  EXPECT_FALSE(load_spec(doc));  // rank 3 against 4
  doc = spec_json("detr_tiny");
  doc["input"].erase("width");
  doc["input"].erase("height");
  doc["input"]["resize"] = "keep_aspect";
  doc["input"]["max_side"] = 32;
  EXPECT_FALSE(load_spec(doc));  // a fixed 32x32 graph cannot take a size that follows the image
}

TEST(EndToEndSpec, ClassIdsMapGraphIdsToLabels) {
  // Graph ids 2 and 3 appear in tf_od_tiny; with class_ids [3, 2, 7] id 3 is "apple", 2 "bottle".
  nlohmann::json doc = spec_json("tf_od_tiny");
  doc["decoder"] = {{"class_ids", {3, 2, 7}}};
  auto det = load_spec(doc);
  ASSERT_TRUE(det) << det.error().message;
  auto out = (*det)->detect(Image::allocate(128, 64), DetectOptions{});
  ASSERT_TRUE(out);
  ASSERT_EQ(out->detections.size(), 3U);
  EXPECT_EQ(out->detections[0].class_id, 1);
  EXPECT_EQ(out->detections[2].class_id, 0);
  // An id that is no label's yields nothing: offset 10 leaves no label for 2 and 3.
  doc["decoder"] = {{"class_id_offset", 10}};
  det = load_spec(doc);
  ASSERT_TRUE(det);
  out = (*det)->detect(Image::allocate(128, 64), DetectOptions{});
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->detections.empty());

  doc["decoder"] = {{"class_ids", "coco91"}};
  EXPECT_FALSE(load_spec(doc));  // coco91 needs the 80 COCO labels
  doc["decoder"] = {{"class_ids", {1, 1, 2}}};
  EXPECT_FALSE(load_spec(doc));  // two labels, one id
  doc["decoder"] = {{"nms", "yes"}};
  EXPECT_FALSE(load_spec(doc));
}

TEST(EndToEndSpec, Coco91MapsTheEightyLabelsAroundTheUnusedIds) {
  nlohmann::json doc = spec_json("tf_od_tiny");
  std::vector<std::string> labels;
  for (int i = 0; i < 80; ++i) labels.push_back("c" + std::to_string(i));
  doc["labels"] = labels;
  doc["decoder"] = {{"class_ids", "coco91"}};
  auto det = load_spec(doc);
  ASSERT_TRUE(det) << det.error().message;
  auto out = (*det)->detect(Image::allocate(128, 64), DetectOptions{});
  ASSERT_TRUE(out);
  ASSERT_EQ(out->detections.size(), 3U);
  EXPECT_EQ(out->detections[0].class_id, 1);  // id 2 (bicycle) is label 1
  EXPECT_EQ(out->detections[2].class_id, 2);  // id 3 (car) is label 2
}

TEST(EndToEndSpec, NmsCanBeAskedForAgain) {
  nlohmann::json doc = spec_json("yolo_end2end_tiny");
  doc["decoder"] = {{"nms", true}};
  auto det = load_spec(doc);
  ASSERT_TRUE(det);
  auto out = (*det)->detect(Image::allocate(128, 64), DetectOptions{});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->detections.size(), 2U);  // the overlapping second bottle goes
}

TEST(EndToEndSpec, OutputsAreFoundByTheDeclaredNamesOnly) {
  nlohmann::json doc = spec_json("detr_split_tiny");
  doc["decoder"]["outputs"] = {{"boxes", "pred_boxes"}, {"scores", "logits"}};
  auto det = load_spec(doc);
  ASSERT_TRUE(det);
  auto out = (*det)->detect(Image::allocate(64, 64), DetectOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kInference);
  EXPECT_NE(out.error().message.find("pred_logits"), std::string::npos);  // lists what the graph has

  doc = spec_json("detr_tiny");
  doc["labels"] = {"a", "b", "c", "d"};  // a fourth label reads a score column the graph lacks
  det = load_spec(doc);
  ASSERT_TRUE(det);
  out = (*det)->detect(Image::allocate(64, 64), DetectOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kInference);
}

}  // namespace
}  // namespace visearch
