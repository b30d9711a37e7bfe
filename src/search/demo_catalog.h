// Demo catalog: products made from the labelled objects of the COCO images in ../shared/data, so that a
// newcomer has something to search right away. Each product is one ground-truth object: its crop (with a
// margin) is the product photo; the label gives its category (through the LabelMapping) and what the title
// calls it; a seeded generator gives brand, style and price; the crop's dominant colour becomes the "color"
// attribute.
//
// What makes a product photo (DemoOptions; the rules run before the largest max_per_label of a label are
// picked, so a skipped object makes room for the next one):
//   - the object is at least min_side pixels on both sides (--min-side);
//   - the crop is the box plus `margin` x the box's longer side on every side, clamped to the image (even
//     padding, as a shop photo has; a thin object gets room beside it);
//   - the crop is at least min_photo_side pixels on its longer side: a product card is a square of about
//     170 (phone) to 250 (desktop) CSS pixels, and a smaller photo is blown up past twice its size;
//   - the crop is at most max_photo_aspect times longer than wide (or wider than long): in a square card a
//     longer strip covers under a third of it;
//   - an object cut by the image's left or right edge whose height is frame_strip_aspect times its width or
//     more (or cut by the top or bottom edge and as many times wider than high) is a strip of something
//     bigger seen through the frame (the side of a bus at the edge of a street photo), not a product.
//
// Also the readers of the two labelled formats there (YOLO txt + data.yaml, COCO instances JSON), which
// the retrieval benchmark uses for its ground truth.
//
// Failure modes: kNotFound / kInvalidArgument naming the file and line for missing or malformed
// annotation files; images that fail to decode are skipped and counted. Deterministic for a given seed.
// Thread-safety: pure functions (they write only under out_dir).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "core/image.h"
#include "core/result.h"
#include "search/label_mapping.h"

namespace visearch::search {

struct LabelledBox {
  std::string image_path;  // absolute or relative to the working directory
  std::string source;      // "<dataset>/<file name>", informative
  std::string label;
  ImageBox box;     // pixels of the upright image
  Size image_size;  // the upright image's size; 0 x 0 when unknown (no clamping, no frame rule)
};

// <root>/data.yaml (names), <root>/labels/train2017/*.txt, <root>/images/train2017/*.jpg.
Result<std::vector<LabelledBox>> read_yolo_boxes(const std::string& root, const std::string& dataset_name);
// COCO instances JSON; image files in `images_dir`; crowd annotations skipped.
Result<std::vector<LabelledBox>> read_coco_boxes(const std::string& annotations,
                                                 const std::string& images_dir,
                                                 const std::string& dataset_name);

struct DemoOptions {
  int min_side = 64;  // objects smaller than this on either side are not products
  int max_per_label = 15;
  float margin = 0.10F;            // crop margin on every side, as a share of the box's longer side
  int min_photo_side = 96;         // crops shorter than this on their longer side are skipped (pixels)
  float max_photo_aspect = 3.F;    // crops longer than this (long side / short side) are skipped
  float frame_strip_aspect = 2.F;  // objects cut by the frame and this thin across the cut are skipped
  int max_image_side = 320;        // crops are scaled down to this
  int jpeg_quality = 88;
  std::uint32_t seed = 7;
};

struct DemoReport {
  int products = 0;
  int skipped_images = 0;
  int skipped_small = 0;   // objects whose crop is under min_photo_side (before the per-label cut)
  int skipped_strips = 0;  // objects over max_photo_aspect or cut by the frame (frame_strip_aspect)
  std::map<std::string, int> per_label;
};

// Writes <out_dir>/images/<id>.jpg and <out_dir>/products.jsonl (image paths relative to out_dir).
Result<DemoReport> write_demo_catalog(const std::vector<LabelledBox>& boxes, const LabelMapping& mapping,
                                      const std::string& out_dir, const DemoOptions& options);

// The product photo's region of the image for one object (DemoOptions::margin, clamped to image_size
// when known), and whether it makes a product photo under the rules above.
ImageBox demo_crop_box(const LabelledBox& box, const DemoOptions& options);
enum class DemoVerdict { kProduct, kTooSmall, kStrip };
DemoVerdict demo_verdict(const LabelledBox& box, const DemoOptions& options);

// The title of a demo product: "<brand> <style> [<colour>] <what the photo shows>", where what the photo
// shows is worded per label so that it fits a crop of the real thing: a person is an outfit, a bus or a
// train a scale model, a wild animal a figurine, food carries no colour. Deterministic in `hash`.
std::string demo_title(const std::string& label, const LabelTerms& terms, const std::string& brand,
                       const std::string& style, const std::string& colour, std::uint64_t hash);

// Name of the dominant colour of a product crop's central region ("red", "blue", ...; search/colour.h),
// for attributes.
std::string dominant_colour_name(const Image& crop);

}  // namespace visearch::search
