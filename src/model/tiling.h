// Tiling (sliced inference) for small objects: the model runs on overlapping crops of the image
// ("tiles") as well as on the whole image, and the boxes of every pass are merged into one list.
//
//   TileOptions   what the user asked for: off, auto, or a fixed tile size, and the overlap
//   TilePlan      the crops for one image size (pure value; plan_tiles() computes it)
//   merge_tiled() the merge rule for the passes' boxes, already in original-image pixels
//
// Each tile is a crop followed by the model's own resize: Detector maps a tile's boxes back through
// InputTransform::within(), the crop composed with the model's transform (core/input_transform.h).
//
// The merge rule (chosen from bench/tiling.sh; see docs/tiling.md): a box from a tile that touches one
// of the tile's inner edges (an edge that is not the image border) is cut; it is dropped when a box from
// another pass covers most of it (intersection over the cut box's area >= cover_threshold) and is not
// itself a smaller cut box. The covering box is of the same class (any class with agnostic NMS), or of
// any class when it is larger and scored at least cover_score_ratio times the cut box's score: a cut
// part of an object is often given another class (the front of a bus, a truck). The rest go through
// greedy NMS per class at the request's IoU threshold. Plain NMS alone keeps both a cut half and the
// whole box, because their IoU is low.
//
// Thread-safety: pure functions and plain values.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/detection.h"
#include "core/geometry.h"
#include "core/result.h"

namespace visearch {

enum class TileMode { kOff, kAuto, kFixed };
enum class TileMerge { kEdge, kNms };

struct TileOptions {
  TileMode mode = TileMode::kOff;
  Size size;                           // kFixed: the tile size in image pixels
  float overlap = 0.25F;               // share of a tile's side that its neighbour also covers, [0, 0.9]
  TileMerge merge = TileMerge::kEdge;  // kNms: plain NMS over every pass (for measurements)
  friend bool operator==(const TileOptions&, const TileOptions&) = default;
};

// "off", "auto" or "WxH" (e.g. "640x640"; each side 32..8192). kInvalidArgument naming the value.
Result<TileOptions> parse_tile(std::string_view text, TileOptions base = {});
// A number in [0, 0.9]; kInvalidArgument otherwise.
Result<float> parse_tile_overlap(std::string_view text);
Result<TileMerge> parse_tile_merge(std::string_view text);
// "off", "auto" or "WxH", as parse_tile() reads it.
std::string tile_text(const TileOptions& options);
Status validate_tile(const TileOptions& options);

// One crop, in the pixels of the upright image.
struct TileRect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  [[nodiscard]] Size size() const { return Size{width, height}; }
  friend bool operator==(const TileRect&, const TileRect&) = default;
};

struct TilePlan {
  Size image;
  std::vector<TileRect> tiles;  // empty: one pass on the whole image, as without tiling
  std::size_t refused = 0;      // > 0: a fixed tile size needed this many tiles, more than kMaxTiles
  [[nodiscard]] bool tiled() const { return !tiles.empty(); }
  // Passes run: the whole image, then each tile.
  [[nodiscard]] std::size_t passes() const { return 1 + tiles.size(); }
};

// `auto` tiles only an image whose longer side is at least kAutoTileMinRatio times the model input's
// longer side, with tiles kAutoTileScale times the input's size (624x624 for a 416x416 input): tiles of
// 1.5x the input beat tiles of the input's own size in AP, AP_small and time on the aquarium data, and
// images under 2x the input gained too little for the cost (bench/RESULTS.md, "Tiling").
inline constexpr double kAutoTileMinRatio = 2.0;
inline constexpr double kAutoTileScale = 1.5;
// At most this many tiles per image (one forward pass each): a 12-megapixel 4:3 photo takes 63 tiles of
// 624 px at overlap 0.25. `auto` grows its tiles until they fit; a fixed size that would need more is refused
// (a request for 32x32 tiles at overlap 0.9 of an 8000x8000 image would otherwise hold a worker for hours).
inline constexpr std::size_t kMaxTiles = 100;

// The crops for an image of `image` pixels and a model whose input is `model_input` (its nominal size).
// Tiles of the requested size (at most the image's), `overlap` of a side shared with the neighbour at
// least, spread evenly so the first starts at 0 and the last ends at the image's edge. No tiles when
// one tile would cover the whole image.
TilePlan plan_tiles(Size image, Size model_input, const TileOptions& options);

// The boxes of one pass, in original-image pixels. `tile` is the crop; nullptr-free: a pass on the
// whole image has tile == {0, 0, image.width, image.height}.
struct PassDetections {
  TileRect tile;
  std::vector<Detection> detections;
};

struct TileMergeOptions {
  float iou_threshold = 0.45F;
  bool class_agnostic = false;
  std::size_t max_detections = 100;
  TileMerge merge = TileMerge::kEdge;
  float cover_threshold = 0.6F;  // intersection / cut box area that counts as covered
  // A box of another class covers a cut box only when it is larger and scored at least this share of
  // the cut box's score (a higher or comparable score).
  float cover_score_ratio = 0.8F;
  float edge_margin = 2.F;  // pixels from an inner edge that count as touching it
};

// Which inner edges of `tile` (edges not on the image border) `box` touches: bit 0 left, 1 top,
// 2 right, 3 bottom.
unsigned cut_edges(const ImageBox& box, const TileRect& tile, Size image, float margin);

// Merges the passes into one list, sorted by descending score, at most max_detections.
std::vector<Detection> merge_tiled(const std::vector<PassDetections>& passes, Size image,
                                   const TileMergeOptions& options);

}  // namespace visearch
