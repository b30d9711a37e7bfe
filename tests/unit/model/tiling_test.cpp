// Tiling: the tile plan, the crop composed with the model's resize (InputTransform::within), the merge
// rule for boxes cut by a tile edge, and the tile / tile_overlap parameters. Pure functions, no model.
#include "model/tiling.h"

#include <gtest/gtest.h>

#include "core/input_transform.h"
#include "service/image_request.h"

namespace visearch {
namespace {

TileOptions fixed(int w, int h, float overlap = 0.25F) {
  TileOptions t;
  t.mode = TileMode::kFixed;
  t.size = Size{w, h};
  t.overlap = overlap;
  return t;
}

TEST(TilePlan, OffAndSmallImagesRunTheWholeImageOnly) {
  EXPECT_FALSE(plan_tiles(Size{4000, 3000}, Size{416, 416}, TileOptions{}).tiled());
  // One tile would cover the whole image.
  EXPECT_FALSE(plan_tiles(Size{400, 300}, Size{416, 416}, fixed(416, 416)).tiled());
  EXPECT_EQ(plan_tiles(Size{400, 300}, Size{416, 416}, fixed(416, 416)).passes(), 1U);
}

TEST(TilePlan, TilesCoverTheImageEdgeToEdgeWithAtLeastTheOverlap) {
  // 1000 wide, 400-pixel tiles, 25 % overlap: stride <= 300, so ceil(600 / 300) = 2 gaps, 3 columns at
  // 0, 300, 600; 700 high: ceil(300 / 300) = 1 gap, rows at 0 and 300.
  const TilePlan plan = plan_tiles(Size{1000, 700}, Size{416, 416}, fixed(400, 400));
  ASSERT_EQ(plan.tiles.size(), 6U);
  EXPECT_EQ(plan.passes(), 7U);
  EXPECT_EQ(plan.tiles[0], (TileRect{0, 0, 400, 400}));
  EXPECT_EQ(plan.tiles[1], (TileRect{300, 0, 400, 400}));
  EXPECT_EQ(plan.tiles[2], (TileRect{600, 0, 400, 400}));
  EXPECT_EQ(plan.tiles[5], (TileRect{600, 300, 400, 400}));
  // Uneven: 1030 wide needs ceil(630 / 300) = 3 gaps, spread evenly: 210 each; every neighbour shares >= 100.
  const TilePlan uneven = plan_tiles(Size{1030, 400}, Size{416, 416}, fixed(400, 400));
  ASSERT_EQ(uneven.tiles.size(), 4U);
  EXPECT_EQ(uneven.tiles[1].x, 210);
  EXPECT_EQ(uneven.tiles[3].x + uneven.tiles[3].width, 1030);
  for (std::size_t i = 1; i < uneven.tiles.size(); ++i) {
    EXPECT_GE(uneven.tiles[i - 1].x + 400 - uneven.tiles[i].x, 100);
  }
}

TEST(TilePlan, ATileLargerThanTheImageIsCutToIt) {
  const TilePlan plan = plan_tiles(Size{1000, 300}, Size{416, 416}, fixed(640, 640, 0.F));
  ASSERT_EQ(plan.tiles.size(), 2U);
  EXPECT_EQ(plan.tiles[0], (TileRect{0, 0, 640, 300}));
  EXPECT_EQ(plan.tiles[1], (TileRect{360, 0, 640, 300}));
}

TEST(TilePlan, AutoTilesOnlyImagesMuchLargerThanTheInput) {
  TileOptions autos;
  autos.mode = TileMode::kAuto;
  // 640x480 against 416: ratio 1.54, no tiles.
  EXPECT_FALSE(plan_tiles(Size{640, 480}, Size{416, 416}, autos).tiled());
  // 1024x768: ratio 2.46, tiles of 1.5 times the input (624), stride <= 468: 2 x 2.
  const TilePlan plan = plan_tiles(Size{1024, 768}, Size{416, 416}, autos);
  ASSERT_EQ(plan.tiles.size(), 4U);
  for (const TileRect& t : plan.tiles) EXPECT_EQ(t.size(), (Size{624, 624}));
  EXPECT_EQ(plan.tiles[3], (TileRect{400, 144, 624, 624}));
}

TEST(TilePlan, TheTileCountIsBounded) {
  // A fixed size needing more tiles than kMaxTiles is refused, before any tile is listed.
  TileOptions tiny;
  tiny.mode = TileMode::kFixed;
  tiny.size = Size{32, 32};
  tiny.overlap = 0.9F;
  const TilePlan refused = plan_tiles(Size{8000, 8000}, Size{416, 416}, tiny);
  EXPECT_FALSE(refused.tiled());
  EXPECT_GT(refused.refused, kMaxTiles);
  // auto grows its tiles to fit; a 12-megapixel photo keeps 624 px tiles.
  TileOptions automatic;
  automatic.mode = TileMode::kAuto;
  const TilePlan big = plan_tiles(Size{8000, 8000}, Size{416, 416}, automatic);
  EXPECT_TRUE(big.tiled());
  EXPECT_LE(big.tiles.size(), kMaxTiles);
  EXPECT_EQ(big.refused, 0U);
  const TilePlan phone = plan_tiles(Size{4032, 3024}, Size{416, 416}, automatic);
  ASSERT_TRUE(phone.tiled());
  EXPECT_EQ(phone.tiles.front().width, 624);
  EXPECT_LE(phone.tiles.size(), kMaxTiles);
}

TEST(TileTransform, BoxesFromATileMapBackExactly) {
  // A 400x400 tile cut at (600, 300) from a 1000x700 image, stretched to 416x416.
  const Size frame{1000, 700};
  const InputTransform tile =
      InputTransform::make(ResizeMode::kStretch, Size{400, 400}, Size{416, 416}).within(600, 300, frame);
  EXPECT_EQ(tile.frame_size(), frame);
  EXPECT_EQ(tile.origin_x(), 600);
  EXPECT_EQ(tile.origin_y(), 300);
  // Tensor (104, 52)-(208, 416) is crop (100, 50)-(200, 400), i.e. image (700, 350)-(800, 700).
  const ImageBox back = tile.to_image(InputBox{104.F, 52.F, 208.F, 416.F});
  EXPECT_FLOAT_EQ(back.x1, 700.F);
  EXPECT_FLOAT_EQ(back.y1, 350.F);
  EXPECT_FLOAT_EQ(back.x2, 800.F);
  EXPECT_FLOAT_EQ(back.y2, 700.F);
  // And the inverse, exactly.
  const InputBox in = tile.to_input(ImageBox{700.F, 350.F, 800.F, 700.F});
  EXPECT_FLOAT_EQ(in.x1, 104.F);
  EXPECT_FLOAT_EQ(in.y1, 52.F);
  EXPECT_FLOAT_EQ(in.x2, 208.F);
  EXPECT_FLOAT_EQ(in.y2, 416.F);
  // A box the model puts past the tile is clipped to the tile (it saw nothing outside it), not to the image.
  const ImageBox clipped = tile.to_image(InputBox{-52.F, -52.F, 104.F, 104.F});
  EXPECT_FLOAT_EQ(clipped.x1, 600.F);
  EXPECT_FLOAT_EQ(clipped.y1, 300.F);
  EXPECT_FLOAT_EQ(clipped.x2, 700.F);
  EXPECT_FLOAT_EQ(clipped.y2, 400.F);
}

TEST(TileTransform, ComposesWithALetterbox) {
  // A 400x200 tile at (100, 500), letterboxed centred into 416x416: r = 1.04, content 416x208 at dy = 104.
  const InputTransform tile =
      InputTransform::make(ResizeMode::kLetterboxCentred, Size{400, 200}, Size{416, 416})
          .within(100, 500, Size{2000, 1000});
  const ImageBox box{150.F, 550.F, 350.F, 650.F};  // crop (50, 50)-(250, 150)
  const InputBox in = tile.to_input(box);
  EXPECT_NEAR(in.x1, 52.F, 1e-4);
  EXPECT_NEAR(in.y1, 104.F + 52.F, 1e-4);
  const ImageBox back = tile.to_image(in);
  EXPECT_NEAR(back.x1, box.x1, 1e-3);
  EXPECT_NEAR(back.y1, box.y1, 1e-3);
  EXPECT_NEAR(back.x2, box.x2, 1e-3);
  EXPECT_NEAR(back.y2, box.y2, 1e-3);
}

TEST(TileMerge, CutEdgesAreTheInnerOnesOnly) {
  const Size image{1000, 700};
  const TileRect left{0, 0, 400, 400};
  // Touches the tile's right edge (inner) and its left edge (the image border, not a cut).
  EXPECT_EQ(cut_edges(ImageBox{0.F, 100.F, 399.F, 200.F}, left, image, 2.F), 4U);
  EXPECT_EQ(cut_edges(ImageBox{10.F, 100.F, 300.F, 200.F}, left, image, 2.F), 0U);
  const TileRect corner{600, 300, 400, 400};
  EXPECT_EQ(cut_edges(ImageBox{600.F, 300.F, 1000.F, 700.F}, corner, image, 2.F), 1U | 2U);
}

// The synthetic case of the issue: an object from x = 320 to 500 lies across the edge at x = 400 of the
// first tile. The first tile sees its left part (cut at 400), the second tile (starting at 300) sees it
// whole, and the whole-image pass sees it whole too. One box comes out, not two.
TEST(TileMerge, AnObjectCutByATileEdgeYieldsOneBox) {
  const Size image{1000, 400};
  const TileRect whole{0, 0, 1000, 400};
  const TileRect first{0, 0, 400, 400};
  const TileRect second{300, 0, 400, 400};
  const std::vector<PassDetections> passes = {
      {whole, {Detection{ImageBox{321.F, 100.F, 499.F, 300.F}, 3, 0.6F}}},
      {first, {Detection{ImageBox{320.F, 100.F, 400.F, 300.F}, 3, 0.9F}}},  // the cut part, scored higher
      {second, {Detection{ImageBox{322.F, 101.F, 500.F, 299.F}, 3, 0.8F}}},
  };
  TileMergeOptions options;
  options.iou_threshold = 0.5F;
  const std::vector<Detection> merged = merge_tiled(passes, image, options);
  ASSERT_EQ(merged.size(), 1U);
  EXPECT_EQ(merged[0].box, (ImageBox{322.F, 101.F, 500.F, 299.F}));
  EXPECT_FLOAT_EQ(merged[0].score, 0.8F);

  // Plain NMS keeps the cut part beside the whole box (IoU 80 / 180 = 0.44), and scores it first.
  options.merge = TileMerge::kNms;
  const std::vector<Detection> nms = merge_tiled(passes, image, options);
  ASSERT_EQ(nms.size(), 2U);
  EXPECT_FLOAT_EQ(nms[0].score, 0.9F);
}

TEST(TileMerge, TwoCutPartsNeverRemoveEachOtherAndOtherClassesStay) {
  const Size image{1000, 400};
  // Both halves of an object cut by the overlap's two edges; neither covers 60 % of the other.
  const std::vector<PassDetections> passes = {
      {TileRect{0, 0, 400, 400}, {Detection{ImageBox{200.F, 0.F, 400.F, 100.F}, 1, 0.7F}}},
      {TileRect{300, 0, 400, 400}, {Detection{ImageBox{300.F, 0.F, 600.F, 100.F}, 1, 0.6F}}},
      // A small object of another class inside, from the whole image: kept.
      {TileRect{0, 0, 1000, 400}, {Detection{ImageBox{320.F, 10.F, 360.F, 60.F}, 2, 0.5F}}},
  };
  // Without a pass that covers the object, both parts stay (the rule only removes covered parts).
  const std::vector<Detection> merged = merge_tiled(passes, image, TileMergeOptions{});
  ASSERT_EQ(merged.size(), 3U);
  EXPECT_FLOAT_EQ(merged[0].score, 0.7F);
  EXPECT_FLOAT_EQ(merged[1].score, 0.6F);
  EXPECT_EQ(merged[2].class_id, 2);
  // The larger part covers the smaller one once it holds 60 % of it: the smaller goes, the larger stays.
  const std::vector<PassDetections> nested = {
      {TileRect{0, 0, 400, 400}, {Detection{ImageBox{250.F, 0.F, 400.F, 100.F}, 1, 0.7F}}},
      {TileRect{300, 0, 400, 400}, {Detection{ImageBox{300.F, 0.F, 600.F, 100.F}, 1, 0.6F}}},
  };
  const std::vector<Detection> one = merge_tiled(nested, image, TileMergeOptions{});
  ASSERT_EQ(one.size(), 1U);
  EXPECT_FLOAT_EQ(one[0].score, 0.6F);
}

// bus.jpg with 416x416 tiles: a tile that holds only the front of the bus (cut by its left edge at x = 394)
// calls it a truck; the whole-image pass sees the bus. The cut piece is covered by the larger, better-scored
// bus box of another class, so it goes; NMS stays per class for everything else.
TEST(TileMerge, ACutPieceGivenAnotherClassGoesUnderTheWholeObject) {
  const Size image{810, 1080};
  constexpr int kBus = 5;
  constexpr int kTruck = 7;
  constexpr int kPerson = 0;
  const std::vector<PassDetections> passes = {
      {TileRect{0, 0, 810, 1080},
       {Detection{ImageBox{12.F, 239.F, 806.F, 745.F}, kBus, 0.74F},
        // An uncut person in front of the bus: another class, kept by the per-class NMS.
        Detection{ImageBox{224.F, 399.F, 343.F, 856.F}, kPerson, 0.9F}}},
      {TileRect{394, 0, 416, 416}, {Detection{ImageBox{394.F, 234.5F, 806.5F, 415.9F}, kTruck, 0.59F}}},
  };
  const std::vector<Detection> merged = merge_tiled(passes, image, TileMergeOptions{});
  ASSERT_EQ(merged.size(), 2U);
  EXPECT_EQ(merged[0].class_id, kPerson);
  EXPECT_EQ(merged[1].class_id, kBus);

  // A covering box of another class scored much lower than the cut box does not remove it.
  std::vector<PassDetections> weak = passes;
  weak[0].detections[0].score = 0.3F;
  EXPECT_EQ(merge_tiled(weak, image, TileMergeOptions{}).size(), 3U);
  // Nor does a smaller box of another class: a cut object stays beside a small object lying on it.
  const std::vector<PassDetections> small = {
      {TileRect{0, 0, 810, 1080}, {Detection{ImageBox{400.F, 240.F, 600.F, 400.F}, kPerson, 0.9F}}},
      {TileRect{394, 0, 416, 416}, {Detection{ImageBox{394.F, 234.5F, 806.5F, 415.9F}, kTruck, 0.59F}}},
  };
  EXPECT_EQ(merge_tiled(small, image, TileMergeOptions{}).size(), 2U);
  // An uncut box of another class inside a larger one is not a cut piece: both stay (NMS per class).
  std::vector<PassDetections> uncut = passes;
  uncut[1].tile = TileRect{0, 0, 810, 1080};
  EXPECT_EQ(merge_tiled(uncut, image, TileMergeOptions{}).size(), 3U);
}

TEST(TileMerge, KeepsAtMostMaxDetectionsByScore) {
  std::vector<Detection> many;
  for (int i = 0; i < 10; ++i) {
    const auto x = static_cast<float>(i * 50);
    many.push_back(Detection{ImageBox{x, 0.F, x + 20.F, 20.F}, 0, 0.1F * static_cast<float>(i)});
  }
  TileMergeOptions options;
  options.max_detections = 3;
  const std::vector<Detection> merged =
      merge_tiled({PassDetections{TileRect{0, 0, 1000, 100}, many}}, Size{1000, 100}, options);
  ASSERT_EQ(merged.size(), 3U);
  EXPECT_FLOAT_EQ(merged[0].score, 0.9F);
  EXPECT_FLOAT_EQ(merged[2].score, 0.7F);
}

TEST(TileParameters, ParsesAutoOffAndSizesAndRefusesTheRest) {
  EXPECT_EQ(parse_tile("auto")->mode, TileMode::kAuto);
  EXPECT_EQ(parse_tile("off")->mode, TileMode::kOff);
  const auto sized = parse_tile("640x480");
  ASSERT_TRUE(sized);
  EXPECT_EQ(sized->mode, TileMode::kFixed);
  EXPECT_EQ(sized->size, (Size{640, 480}));
  EXPECT_EQ(tile_text(*sized), "640x480");
  for (const char* bad : {"", "x", "640", "640x", "x640", "16x16", "9000x100", "-64x64", "64x64x64", "AUTO",
                          " 64x64", "64.5x64"}) {
    const auto parsed = parse_tile(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_FLOAT_EQ(*parse_tile_overlap("0.2"), 0.2F);
  for (const char* bad : {"", "-0.1", "0.95", "nan", "1e9", "abc"})
    EXPECT_FALSE(parse_tile_overlap(bad)) << bad;
}

TEST(TileParameters, HttpParametersSetTheTileInEitherOrder) {
  HttpInput input;
  input.content_type = "image/jpeg";
  input.body = "x";
  input.query = {{"tile_overlap", "0.4"}, {"tile", "512x512"}};
  auto request = parse_image_request(input);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->options.tile.mode, TileMode::kFixed);
  EXPECT_EQ(request->options.tile.size, (Size{512, 512}));
  EXPECT_FLOAT_EQ(request->options.tile.overlap, 0.4F);

  input.query = {{"tile", "huge"}};
  auto refused = parse_image_request(input);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("tile"), std::string::npos);

  input.content_type = "application/json";
  input.query.clear();
  input.body = R"({"image": "aGVsbG8=", "tile": ["auto"]})";
  EXPECT_FALSE(parse_image_request(input));
}

}  // namespace
}  // namespace visearch
