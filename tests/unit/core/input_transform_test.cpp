#include "core/input_transform.h"

#include <gtest/gtest.h>

namespace visearch {
namespace {

void expect_box_near(const ImageBox& a, const ImageBox& b, float tol = 1e-3F) {
  EXPECT_NEAR(a.x1, b.x1, tol);
  EXPECT_NEAR(a.y1, b.y1, tol);
  EXPECT_NEAR(a.x2, b.x2, tol);
  EXPECT_NEAR(a.y2, b.y2, tol);
}

TEST(InputTransform, StretchScalesEachAxisIndependently) {
  const auto t = InputTransform::make(ResizeMode::kStretch, Size{800, 400}, Size{416, 416});
  EXPECT_FLOAT_EQ(t.scale_x(), 416.F / 800.F);
  EXPECT_FLOAT_EQ(t.scale_y(), 416.F / 400.F);
  const InputBox in = t.to_input(ImageBox{100, 50, 300, 250});
  EXPECT_NEAR(in.x1, 52.F, 1e-4);
  EXPECT_NEAR(in.y1, 52.F, 1e-4);
  EXPECT_NEAR(in.x2, 156.F, 1e-4);
  EXPECT_NEAR(in.y2, 260.F, 1e-4);
  expect_box_near(t.to_image(in), ImageBox{100, 50, 300, 250});
}

TEST(InputTransform, LetterboxTopLeftKeepsAspectAndPadsBottomRight) {
  // 640x320 into 416: r = 0.65, content 416x208 at (0, 0).
  const auto t = InputTransform::make(ResizeMode::kLetterboxTopLeft, Size{640, 320}, Size{416, 416});
  EXPECT_EQ(t.content_size(), (Size{416, 208}));
  EXPECT_EQ(t.offset_x(), 0);
  EXPECT_EQ(t.offset_y(), 0);
  const InputBox in = t.to_input(ImageBox{64, 32, 320, 160});
  EXPECT_NEAR(in.x1, 41.6F, 1e-3);
  EXPECT_NEAR(in.y2, 104.F, 1e-3);
  expect_box_near(t.to_image(in), ImageBox{64, 32, 320, 160});
}

TEST(InputTransform, LetterboxCentredOffsetsThePaddedAxis) {
  // 300x600 into 416: r = 416/600, content 208x416, centred: dx = (416 - 208) / 2 = 104.
  const auto t = InputTransform::make(ResizeMode::kLetterboxCentred, Size{300, 600}, Size{416, 416});
  EXPECT_EQ(t.content_size(), (Size{208, 416}));
  EXPECT_EQ(t.offset_x(), 104);
  EXPECT_EQ(t.offset_y(), 0);
  const InputBox origin = t.to_input(ImageBox{0, 0, 300, 600});
  EXPECT_NEAR(origin.x1, 104.F, 1e-3);
  EXPECT_NEAR(origin.x2, 104.F + 208.F, 1e-3);
  expect_box_near(t.to_image(t.to_input(ImageBox{10, 20, 30, 40})), ImageBox{10, 20, 30, 40});
}

TEST(InputTransform, OddPaddingIsFloored) {
  const auto t = InputTransform::make(ResizeMode::kLetterboxCentred, Size{100, 33}, Size{32, 32});
  // r = 0.32, content 32x10, dy = (32 - 10) / 2 = 11.
  EXPECT_EQ(t.content_size(), (Size{32, 10}));
  EXPECT_EQ(t.offset_y(), 11);
}

TEST(InputTransform, ToImageClipsToTheImage) {
  const auto t = InputTransform::make(ResizeMode::kLetterboxTopLeft, Size{200, 100}, Size{100, 100});
  const ImageBox clipped = t.to_image(InputBox{-10, -10, 120, 70});
  expect_box_near(clipped, ImageBox{0, 0, 200, 100});
  const ImageBox raw = t.to_image_unclipped(InputBox{-10, -10, 120, 70});
  expect_box_near(raw, ImageBox{-20, -20, 240, 140});
}

TEST(InputTransform, ParsesModeNames) {
  EXPECT_EQ(*parse_resize_mode("stretch"), ResizeMode::kStretch);
  EXPECT_EQ(*parse_resize_mode("letterbox_top_left"), ResizeMode::kLetterboxTopLeft);
  EXPECT_EQ(*parse_resize_mode("letterbox_centred"), ResizeMode::kLetterboxCentred);
  const auto bad = parse_resize_mode("crop");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidSpec);
}

}  // namespace
}  // namespace visearch

namespace visearch {
namespace {

TEST(InputTransform, LetterboxRoundingIsDeclared) {
  // 640x426 into 416: r = 0.65, h * r = 276.9.
  const auto floor = InputTransform::make(ResizeMode::kLetterboxCentred, Size{640, 426}, Size{416, 416});
  EXPECT_EQ(floor.content_size(), (Size{416, 276}));
  EXPECT_EQ(floor.offset_y(), 70);
  const auto nearest = InputTransform::make(ResizeMode::kLetterboxCentred, Size{640, 426}, Size{416, 416},
                                            SizeRounding::kNearest);
  EXPECT_EQ(nearest.content_size(), (Size{416, 277}));
  EXPECT_EQ(nearest.offset_y(), 69);
  // The mapping back still uses the exact scale r.
  const ImageBox back = nearest.to_image(InputBox{0, 69, 416, 69 + 276.9F});
  EXPECT_NEAR(back.y2, 426.F, 1e-2);
}

}  // namespace
}  // namespace visearch
