#include "model/preprocess.h"

#include <gtest/gtest.h>

namespace visearch {
namespace {

Image solid(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  Image img = Image::allocate(w, h);
  for (std::size_t i = 0; i < img.pixels.size(); i += 3) {
    img.pixels[i] = r;
    img.pixels[i + 1] = g;
    img.pixels[i + 2] = b;
  }
  return img;
}

TEST(Preprocess, NormalisesInTheDeclaredChannelOrder) {
  PreprocessSpec spec;
  spec.size = Size{8, 8};
  spec.channel_order = ChannelOrder::kBgr;
  spec.mean = {10.F, 20.F, 30.F};
  spec.std = {2.F, 4.F, 5.F};
  const PreparedInput p = preprocess_image(solid(16, 16, 200, 100, 50), spec);
  ASSERT_EQ(p.tensor.size(), 3U * 64U);
  EXPECT_FLOAT_EQ(p.tensor[0], (50.F - 10.F) / 2.F);          // B plane first
  EXPECT_FLOAT_EQ(p.tensor[64], (100.F - 20.F) / 4.F);        // G
  EXPECT_FLOAT_EQ(p.tensor[128 + 63], (200.F - 30.F) / 5.F);  // R
}

TEST(Preprocess, LetterboxFillsThePadWithThePadValue) {
  PreprocessSpec spec;
  spec.size = Size{10, 10};
  spec.resize = ResizeMode::kLetterboxCentred;
  spec.pad_value = 114;
  InputTransform t;
  const Image out = resize_for_input(solid(20, 10, 255, 0, 0), spec, &t);
  // Content 10x5 centred: rows 0..1 pad (dy = 2), rows 2..6 content, rows 7..9 pad.
  EXPECT_EQ(t.offset_y(), 2);
  EXPECT_EQ(out.row(0)[0], 114);
  EXPECT_EQ(out.row(3)[0], 255);
  EXPECT_EQ(out.row(3)[1], 0);
  EXPECT_EQ(out.row(9)[0], 114);
}

TEST(Preprocess, InterleavedFloatAndPlanarBytesFollowTheDeclaredLayout) {
  PreprocessSpec spec;
  spec.size = Size{2, 1};
  spec.layout = TensorLayout::kNhwc;
  spec.mean = {10.F, 20.F, 30.F};
  spec.std = {2.F, 4.F, 5.F};
  Image img = Image::allocate(2, 1);
  img.pixels = {110, 120, 130, 210, 220, 230};
  PreparedInput p = preprocess_image(img, spec);
  EXPECT_EQ(p.shape, (std::vector<std::int64_t>{1, 1, 2, 3}));
  ASSERT_EQ(p.tensor.size(), 6U);
  EXPECT_FLOAT_EQ(p.tensor[0], 50.F);  // pixel 0, R
  EXPECT_FLOAT_EQ(p.tensor[1], 25.F);  // pixel 0, G
  EXPECT_FLOAT_EQ(p.tensor[5], 40.F);  // pixel 1, B
  spec.layout = TensorLayout::kNchw;
  spec.type = TensorType::kUint8;
  spec.channel_order = ChannelOrder::kBgr;
  p = preprocess_image(img, spec);
  EXPECT_EQ(p.shape, (std::vector<std::int64_t>{1, 3, 1, 2}));
  EXPECT_TRUE(p.tensor.empty());
  EXPECT_EQ(p.bytes, (std::vector<std::uint8_t>{130, 230, 120, 220, 110, 210}));  // B plane first
}

}  // namespace
}  // namespace visearch
