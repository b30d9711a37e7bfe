// Box payload validation: every malformed payload is refused with a message naming the field.
#include <gtest/gtest.h>

#include "labeling/box_payload.h"

namespace visearch::labeling {
namespace {

const std::vector<std::string> kClasses{"bottle", "mug", "bag"};
constexpr Size kImage{640, 480};

Result<SavePayload> parse(const std::string& text, std::size_t stored = 0) {
  return parse_save_payload(std::string_view(text), kClasses, kImage, stored);
}

std::string error_of(const std::string& text, std::size_t stored = 0) {
  auto parsed = parse(text, stored);
  EXPECT_FALSE(parsed) << text;
  if (parsed) return "";
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  return parsed.error().message;
}

TEST(BoxPayload, ParsesValidBoxes) {
  auto parsed = parse(R"({"version": 3, "boxes": [{"class_id": 1, "x1": 10, "y1": 20.5, "x2": 110, "y2": 220},
                                                   {"class": "bag", "x1": 0, "y1": 0, "x2": 640, "y2": 480, "ref": 0}]})",
                      1);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->version, 3);
  ASSERT_EQ(parsed->boxes.size(), 2U);
  EXPECT_EQ(parsed->boxes[0].box, (LabelBox{1, 10, 20.5, 110, 220}));
  EXPECT_EQ(parsed->boxes[0].ref, -1);
  EXPECT_EQ(parsed->boxes[1].box.class_id, 2);
  EXPECT_EQ(parsed->boxes[1].ref, 0);
}

TEST(BoxPayload, EmptyListIsAValidSave) {
  auto parsed = parse(R"({"version": 1, "boxes": []})");
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->boxes.empty());
}

TEST(BoxPayload, RefusesOutOfRangeClass) {
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 3, "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})")
                .find("boxes[0].class_id 3 is out of range: the data set has 3 classes (0..2)"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": -1, "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})")
                .find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 1.5, "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})")
                .find("must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class": "cat", "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})")
                .find("'cat' is not a class"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"version": 1, "boxes": [{"x1": 1, "y1": 1, "x2": 9, "y2": 9}]})").find("has no class_id"),
      std::string::npos);
}

// Issue 11, defect 8: a box naming its class twice, differently, was saved as the id's class.
TEST(BoxPayload, RefusesAClassAndClassIdThatDisagree) {
  EXPECT_NE(
      error_of(
          R"({"version": 1, "boxes": [{"class": "bag", "class_id": 0, "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})")
          .find("boxes[0].class 'bag' and .class_id 0 ('bottle') disagree"),
      std::string::npos);
  auto agree = parse(
      R"({"version": 1, "boxes": [{"class": "bag", "class_id": 2, "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})");
  ASSERT_TRUE(agree) << agree.error().message;
  EXPECT_EQ(agree->boxes[0].box.class_id, 2);
}

TEST(BoxPayload, RefusesNegativeAndTinySizes) {
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": 50, "y1": 1, "x2": 40, "y2": 9}]})")
                .find("boxes[0] has a negative width (x2 40 < x1 50)"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 30, "x2": 9, "y2": 9}]})")
                .find("negative height"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": 5, "y1": 5, "x2": 5.5, "y2": 9}]})")
                .find("too small"),
            std::string::npos);
}

TEST(BoxPayload, RefusesBoxesOutsideTheImageButClipsWithinTolerance) {
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": 10, "y1": 10, "x2": 700, "y2": 90}]})")
                .find("boxes[0].x2 = 700 is outside the image (width 640)"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": 10, "y1": -5, "x2": 70, "y2": 90}]})")
                .find("boxes[0].y1 = -5 is outside the image (height 480)"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": 650, "y1": 10, "x2": 660, "y2": 90}]})")
          .find("outside the image"),
      std::string::npos);
  // Within max(1 px, 0.1 %) the box is clipped to the image.
  auto parsed =
      parse(R"({"version": 1, "boxes": [{"class_id": 0, "x1": -0.5, "y1": 0, "x2": 640.4, "y2": 480.9}]})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->boxes[0].box, (LabelBox{0, 0, 0, 640, 480}));
}

TEST(BoxPayload, RefusesNonNumericAndMissingFields) {
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": "ten", "y1": 1, "x2": 9, "y2": 9}]})")
                .find("boxes[0].x1 must be a number, got \"ten\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": null, "x2": 9, "y2": 9}]})")
                .find("boxes[0].y1 must be a number"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 1, "x2": 9}]})")
                .find("boxes[0].y2 is missing"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [7]})").find("boxes[0] must be an object"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": {"a": 1}})").find("boxes must be an array"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1})").find("boxes is missing"), std::string::npos);
}

TEST(BoxPayload, RequiresAVersionAndValidJson) {
  EXPECT_NE(error_of(R"({"boxes": []})").find("version is missing"), std::string::npos);
  EXPECT_NE(error_of(R"({"version": "3", "boxes": []})").find("version must be a non-negative integer"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version": -1, "boxes": []})").find("non-negative"), std::string::npos);
  EXPECT_NE(error_of(R"({"version": 1, "boxes": [)").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(R"([1, 2])").find("must be a JSON object"), std::string::npos);
}

TEST(BoxPayload, RefusesRefsToMissingBoxesAndTooManyBoxes) {
  EXPECT_NE(
      error_of(R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 1, "x2": 9, "y2": 9, "ref": 2}]})",
               2)
          .find("boxes[0].ref 2 names no stored box (the image has 2)"),
      std::string::npos);
  std::string many = R"({"version": 1, "boxes": [)";
  for (std::size_t i = 0; i <= kMaxBoxesPerImage; ++i) {
    many += std::string(i ? "," : "") + R"({"class_id": 0, "x1": 1, "y1": 1, "x2": 9, "y2": 9})";
  }
  many += "]}";
  EXPECT_NE(error_of(many).find("too many boxes"), std::string::npos);
}

TEST(BoxPayload, ValidateBoxRejectsNonFiniteValues) {
  auto bad = validate_box(LabelBox{0, 0, 0, std::numeric_limits<double>::infinity(), 5}, 3, kImage, "b");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not a finite number"), std::string::npos);
}

}  // namespace
}  // namespace visearch::labeling
