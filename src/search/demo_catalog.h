// Demo catalog: products made from the labelled objects of the COCO images in ../shared/data, so that a
// newcomer has something to search right away. Each product is one ground-truth object: its crop (with a
// margin) is the product photo; the label gives its category (through the LabelMapping) and its noun; a
// seeded generator gives brand, title, price; the crop's dominant colour becomes the "color" attribute.
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
#include "core/result.h"
#include "search/label_mapping.h"

namespace visearch::search {

struct LabelledBox {
  std::string image_path;  // absolute or relative to the working directory
  std::string source;      // "<dataset>/<file name>", informative
  std::string label;
  ImageBox box;  // pixels of the upright image
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
  float margin = 0.08F;      // crop margin, as a share of the box size on each side
  int max_image_side = 320;  // crops are scaled down to this
  int jpeg_quality = 88;
  std::uint32_t seed = 7;
};

struct DemoReport {
  int products = 0;
  int skipped_images = 0;
  std::map<std::string, int> per_label;
};

// Writes <out_dir>/images/<id>.jpg and <out_dir>/products.jsonl (image paths relative to out_dir).
Result<DemoReport> write_demo_catalog(const std::vector<LabelledBox>& boxes, const LabelMapping& mapping,
                                      const std::string& out_dir, const DemoOptions& options);

// Name of the dominant colour of an RGB crop ("red", "blue", "black", ...), for attributes.
std::string dominant_colour_name(const std::uint8_t* rgb, std::size_t pixel_count);

}  // namespace visearch::search
