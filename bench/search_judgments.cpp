// Writes the retrieval benchmark's judgments file (the format of `visearch search-eval`, see
// src/search/search_eval.h): one query per labelled object of the COCO images that are not in the catalog
// (coco-mini-train2017; the catalog is built from coco128), searched as a region of its photo exactly as
// POST /v1/search does with a `box`. Relevant products: those of the category the object's true label maps
// to (grade 1). Objects smaller than --min-side and objects whose category has fewer than --min-relevant
// catalog products (precision@5 = 1 must be reachable) are left out. Objects of a kind the catalog does not
// sell at all are written as negative queries (nothing relevant: the right answer is "no good match"); they
// are left out of the means and measure what a minimum score would reject (search-eval --sweep).
// With --colour-grades, products of that category whose declared colour attribute names the query
// object's dominant colour (search/colour.h, the naming the demo catalog gives its products) get grade 2:
// "a blue mug first" shows in nDCG; precision and recall are unchanged (every grade is relevant).
//
//   visearch_bench_search_judgments --data-dir CATALOG --shared ../shared/data --out FILE [--min-side 48]
//                                   [--min-relevant 5] [--mapping FILE] [--colour-grades 1]
//                                   [--queries-from coco-mini|coco128]
// --queries-from coco128 takes the queries from coco128 instead, for a catalog built from coco-mini (the
// benchmark with the two sets' roles swapped: other photos, other objects, same rules).
// bench/search_retrieval.sh builds the catalog, runs this and then `visearch search-eval`.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "io/image_decode.h"
#include "search/colour.h"
#include "search/demo_catalog.h"
#include "search/search_service.h"

namespace {

using namespace visearch;          // NOLINT(google-build-using-namespace): a benchmark main
using namespace visearch::search;  // NOLINT(google-build-using-namespace)

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  std::string shared = "../shared/data";
  std::string mapping_path = default_label_mapping_path();
  std::string out_path;
  int min_side = 48;
  int min_relevant = 5;
  bool colour_grades = false;
  std::string queries_from = "coco-mini";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data-dir")
      data_dir = argv[i + 1];
    else if (flag == "--shared")
      shared = argv[i + 1];
    else if (flag == "--mapping")
      mapping_path = argv[i + 1];
    else if (flag == "--out")
      out_path = argv[i + 1];
    else if (flag == "--min-side")
      min_side = std::atoi(argv[i + 1]);
    else if (flag == "--min-relevant")
      min_relevant = std::atoi(argv[i + 1]);
    else if (flag == "--queries-from")
      queries_from = argv[i + 1];
    else if (flag == "--colour-grades")
      colour_grades = std::string(argv[i + 1]) == "1";
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (out_path.empty()) {
    std::fprintf(stderr, "--out FILE is required\n");
    return 2;
  }
  SearchServiceOptions options;
  options.data_dir = data_dir;
  options.mapping_path = mapping_path;
  options.create = false;
  auto service = SearchService::open(options);
  if (!service) {
    std::fprintf(stderr, "%s\n", service.error().message.c_str());
    return 2;
  }
  auto stats = (*service)->store().stats();
  if (queries_from != "coco-mini" && queries_from != "coco128") {
    std::fprintf(stderr, "--queries-from: coco-mini or coco128\n");
    return 2;
  }
  auto boxes = queries_from == "coco128"
                   ? read_yolo_boxes(shared + "/coco128-train2017", "coco128")
                   : read_coco_boxes(shared + "/coco-mini-train2017/annotations/instances_train2017.json",
                                     shared + "/coco-mini-train2017/train2017", "coco-mini");
  if (!stats || !boxes) {
    std::fprintf(stderr, "cannot read the catalog or the query annotations\n");
    return 2;
  }
  const LabelMapping& mapping = (*service)->mapping();
  // Products by category with their declared colours (for --colour-grades).
  std::map<std::string, std::vector<std::pair<std::string, std::uint16_t>>> coloured_products;
  if (colour_grades) {
    auto reader = (*service)->store().reader();
    if (!reader) return 2;
    auto colours = reader->declared_product_colours();
    auto categories = reader->product_categories();
    if (!colours || !categories) return 2;
    std::map<std::string, std::uint16_t> mask_of(colours->begin(), colours->end());
    for (const auto& [id, category] : *categories) {
      auto it = mask_of.find(id);
      if (it != mask_of.end()) coloured_products[category].emplace_back(id, it->second);
    }
  }
  std::string decoded_path;
  Image decoded;
  int colour_graded = 0;
  std::ofstream out(out_path);
  int written = 0;
  int skipped_small = 0;
  int skipped_category = 0;
  int negatives = 0;
  for (LabelledBox& query : *boxes) {
    // YOLO labels are fractions: x2 = 640.0003 on a 640 px photo. search-eval wants the box inside it.
    if (query.image_size.width > 0 && query.image_size.height > 0)
      query.box = query.box.clipped(static_cast<float>(query.image_size.width),
                                    static_cast<float>(query.image_size.height));
    if (query.box.width() < static_cast<float>(min_side) ||
        query.box.height() < static_cast<float>(min_side)) {
      ++skipped_small;
      continue;
    }
    const std::string category = mapping.primary_category(query.label);
    auto count = stats->categories.find(category);
    if (category.empty() || count == stats->categories.end()) {
      // The shop sells nothing of this kind: a negative query (the right answer is "no good match").
      ++negatives;
      const nlohmann::json line = {
          {"id", query.source + "#n" + std::to_string(negatives) + " " + query.label},
          {"image", std::filesystem::absolute(query.image_path).lexically_normal().string()},
          {"box", {query.box.x1, query.box.y1, query.box.x2, query.box.y2}},
          {"categories", {category.empty() ? query.label : category}}};
      out << line.dump() << '\n';
      continue;
    }
    if (count->second < min_relevant) {
      ++skipped_category;
      continue;
    }
    ++written;
    nlohmann::json line = {{"id", query.source + "#" + std::to_string(written) + " " + query.label},
                           {"image", std::filesystem::absolute(query.image_path).lexically_normal().string()},
                           {"box", {query.box.x1, query.box.y1, query.box.x2, query.box.y2}},
                           {"categories", {category}}};
    if (colour_grades) {
      if (decoded_path != query.image_path) {
        auto bytes = read_file_bytes(query.image_path, std::uint64_t{64} << 20U);
        auto image = bytes ? decode_image(*bytes, DecodeLimits{}) : Result<DecodedImage>(bytes.error());
        if (!image) {
          std::fprintf(stderr, "cannot decode %s\n", query.image_path.c_str());
          return 2;
        }
        decoded = std::move(image->image);
        decoded_path = query.image_path;
      }
      const std::size_t colour = dominant_colour(colour_profile(decoded, query.box));
      nlohmann::json same_colour = nlohmann::json::object();
      for (const auto& [id, mask] : coloured_products[category]) {
        if ((mask & (1U << colour)) != 0) same_colour[id] = 2;
      }
      if (!same_colour.empty()) {
        line["products"] = same_colour;
        line["categories"] = {{category, 1}};
        ++colour_graded;
      }
    }
    out << line.dump() << '\n';
  }
  out.flush();
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", out_path.c_str());
    return 1;
  }
  std::fprintf(
      stderr,
      "%d queries: object regions from %s (sides >= %d px; %d smaller and %d whose category has 1..%d "
      "catalog products left out), and %d negative queries (objects of kinds the catalog does not sell)\n",
      written, queries_from.c_str(), min_side, skipped_small, skipped_category, min_relevant - 1, negatives);
  if (colour_grades)
    std::fprintf(stderr, "%d queries have catalog products of their colour (grade 2)\n", colour_graded);
  return 0;
}
