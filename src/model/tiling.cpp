#include "model/tiling.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

namespace visearch {
namespace {

Unexpected bad(const std::string& message) {
  return Unexpected{ErrorCode::kInvalidArgument, message};
}

constexpr int kMinTileSide = 32;
constexpr int kMaxTileSide = 8192;
constexpr float kMaxOverlap = 0.9F;

bool parse_side(std::string_view text, int* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && !text.empty();
}

// Start positions of n tiles of `tile` pixels over `length` pixels: the first at 0, the last ending at
// `length`, neighbours sharing at least overlap * tile pixels.
std::vector<int> tile_starts(int length, int tile, float overlap) {
  if (tile >= length) return {0};
  const double stride = std::max(1.0, static_cast<double>(tile) * (1.0 - static_cast<double>(overlap)));
  const auto gaps = static_cast<int>(std::ceil(static_cast<double>(length - tile) / stride - 1e-9));
  std::vector<int> starts;
  for (int i = 0; i <= gaps; ++i) {
    starts.push_back(static_cast<int>(std::lround(
        static_cast<double>(i) * static_cast<double>(length - tile) / static_cast<double>(gaps))));
  }
  return starts;
}

float intersection(const ImageBox& a, const ImageBox& b) {
  const float ix = std::max(0.F, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float iy = std::max(0.F, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  return ix * iy;
}

struct Entry {
  Detection detection;
  std::size_t pass = 0;
  unsigned cut = 0;
};

}  // namespace

Result<TileOptions> parse_tile(std::string_view text, TileOptions base) {
  if (text == "off") {
    base.mode = TileMode::kOff;
    return base;
  }
  if (text == "auto") {
    base.mode = TileMode::kAuto;
    return base;
  }
  const std::size_t x = text.find('x');
  int w = 0;
  int h = 0;
  if (x == std::string_view::npos || !parse_side(text.substr(0, x), &w) ||
      !parse_side(text.substr(x + 1), &h)) {
    std::string shown(text.substr(0, 40));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) c = '?';
    }
    return bad("tile must be auto, off or WxH (e.g. 640x640), got '" + shown + "'");
  }
  if (w < kMinTileSide || h < kMinTileSide || w > kMaxTileSide || h > kMaxTileSide) {
    return bad("tile sides must be in " + std::to_string(kMinTileSide) + ".." + std::to_string(kMaxTileSide));
  }
  base.mode = TileMode::kFixed;
  base.size = Size{w, h};
  return base;
}

Result<float> parse_tile_overlap(std::string_view text) {
  float value = 0.F;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || !std::isfinite(value) || value < 0.F ||
      value > kMaxOverlap) {
    return bad("tile_overlap must be a number in [0, 0.9]");
  }
  return value;
}

Result<TileMerge> parse_tile_merge(std::string_view text) {
  if (text == "edge") return TileMerge::kEdge;
  if (text == "nms") return TileMerge::kNms;
  return bad("tile merge must be edge or nms");
}

std::string tile_text(const TileOptions& options) {
  switch (options.mode) {
    case TileMode::kOff:
      return "off";
    case TileMode::kAuto:
      return "auto";
    case TileMode::kFixed:
      return std::to_string(options.size.width) + "x" + std::to_string(options.size.height);
  }
  return "off";
}

Status validate_tile(const TileOptions& options) {
  if (!(options.overlap >= 0.F && options.overlap <= kMaxOverlap)) {
    return bad("tile_overlap must be a number in [0, 0.9]");
  }
  if (options.mode == TileMode::kFixed &&
      (options.size.width < kMinTileSide || options.size.height < kMinTileSide ||
       options.size.width > kMaxTileSide || options.size.height > kMaxTileSide)) {
    return bad("tile sides must be in " + std::to_string(kMinTileSide) + ".." + std::to_string(kMaxTileSide));
  }
  return ok_status();
}

TilePlan plan_tiles(Size image, Size model_input, const TileOptions& options) {
  TilePlan plan;
  plan.image = image;
  if (image.width <= 0 || image.height <= 0) return plan;
  Size tile = options.size;
  switch (options.mode) {
    case TileMode::kOff:
      return plan;
    case TileMode::kAuto: {
      const int model_long = std::max(model_input.width, model_input.height);
      const int image_long = std::max(image.width, image.height);
      if (model_long <= 0 || static_cast<double>(image_long) < kAutoTileMinRatio * model_long) return plan;
      tile = Size{static_cast<int>(std::lround(kAutoTileScale * model_input.width)),
                  static_cast<int>(std::lround(kAutoTileScale * model_input.height))};
      break;
    }
    case TileMode::kFixed:
      break;
  }
  for (;;) {
    tile.width = std::min(tile.width, image.width);
    tile.height = std::min(tile.height, image.height);
    if (tile.width <= 0 || tile.height <= 0 || (tile.width == image.width && tile.height == image.height)) {
      return plan;
    }
    const std::vector<int> ys = tile_starts(image.height, tile.height, options.overlap);
    const std::vector<int> xs = tile_starts(image.width, tile.width, options.overlap);
    const std::size_t count = xs.size() * ys.size();
    if (count > kMaxTiles) {
      if (options.mode == TileMode::kFixed) {
        plan.refused = count;
        return plan;
      }
      // auto: larger tiles until they fit (each step a quarter larger)
      tile = Size{tile.width + std::max(1, tile.width / 4), tile.height + std::max(1, tile.height / 4)};
      continue;
    }
    for (int y : ys) {
      for (int x : xs) plan.tiles.push_back(TileRect{x, y, tile.width, tile.height});
    }
    return plan;
  }
}

unsigned cut_edges(const ImageBox& box, const TileRect& tile, Size image, float margin) {
  unsigned edges = 0;
  const auto tx1 = static_cast<float>(tile.x);
  const auto ty1 = static_cast<float>(tile.y);
  const auto tx2 = static_cast<float>(tile.x + tile.width);
  const auto ty2 = static_cast<float>(tile.y + tile.height);
  if (tile.x > 0 && box.x1 <= tx1 + margin) edges |= 1U;
  if (tile.y > 0 && box.y1 <= ty1 + margin) edges |= 2U;
  if (tile.x + tile.width < image.width && box.x2 >= tx2 - margin) edges |= 4U;
  if (tile.y + tile.height < image.height && box.y2 >= ty2 - margin) edges |= 8U;
  return edges;
}

std::vector<Detection> merge_tiled(const std::vector<PassDetections>& passes, Size image,
                                   const TileMergeOptions& options) {
  std::vector<Entry> entries;
  for (std::size_t p = 0; p < passes.size(); ++p) {
    for (const Detection& d : passes[p].detections) {
      if (!d.box.valid()) continue;
      const unsigned cut = options.merge == TileMerge::kEdge
                               ? cut_edges(d.box, passes[p].tile, image, options.edge_margin)
                               : 0U;
      entries.push_back(Entry{d, p, cut});
    }
  }
  const auto same_class = [&](const Entry& a, const Entry& b) {
    return options.class_agnostic || a.detection.class_id == b.detection.class_id;
  };
  // 1. A cut box covered by a box of another pass goes: by an uncut box, or by a larger cut box (equal
  //    areas: the earlier entry wins), so two cut boxes never remove each other. The covering box may
  //    be of another class when it is larger than the cut box and scored at least cover_score_ratio
  //    times as high: a tile that sees only the front of a bus may call it a truck.
  std::vector<bool> dropped(entries.size(), false);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& cut = entries[i];
    if (cut.cut == 0U) continue;
    const float area = cut.detection.box.area();
    if (area <= 0.F) continue;
    for (std::size_t j = 0; j < entries.size(); ++j) {
      const Entry& other = entries[j];
      if (j == i || other.pass == cut.pass) continue;
      const float other_area = other.detection.box.area();
      if (!same_class(cut, other) &&
          (other_area <= area || other.detection.score < options.cover_score_ratio * cut.detection.score)) {
        continue;
      }
      if (other.cut != 0U && (other_area < area || (other_area == area && j > i))) continue;
      if (intersection(cut.detection.box, other.detection.box) >= options.cover_threshold * area) {
        dropped[i] = true;
        break;
      }
    }
  }
  // 2. Greedy NMS over the rest: highest score first, ties in pass order.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!dropped[i]) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return entries[a].detection.score > entries[b].detection.score;
  });
  std::vector<Detection> kept;
  std::vector<std::size_t> kept_index;
  for (std::size_t i : order) {
    if (kept.size() >= options.max_detections) break;
    bool suppressed = false;
    for (std::size_t k : kept_index) {
      if (same_class(entries[i], entries[k]) &&
          iou(entries[i].detection.box, entries[k].detection.box) > options.iou_threshold) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    kept_index.push_back(i);
    kept.push_back(entries[i].detection);
  }
  return kept;
}

}  // namespace visearch
