// Retrieval benchmark for visual search: queries are the labelled objects of COCO images that are not in
// the catalog (coco-mini-train2017; the catalog is built from coco128), each searched as a region of its
// photo exactly as POST /v1/search does with a `box`. A returned product is relevant when its category is
// the category the query object's true label maps to. Reports precision@5 of label-only, visual-only and
// fused ranking, overall and by whether the detector labelled the query region correctly.
//
//   visearch_bench_search_retrieval --data-dir CATALOG --shared ../shared/data [--min-side 48]
//                                   [--min-relevant 5] [--mapping FILE]
// bench/search_retrieval.sh builds the catalog and runs this.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/embedder.h"
#include "search/demo_catalog.h"
#include "search/object_analysis.h"
#include "search/search_service.h"

namespace {

using namespace visearch;          // NOLINT(google-build-using-namespace): a benchmark main
using namespace visearch::search;  // NOLINT(google-build-using-namespace)

struct Tally {
  double precision = 0;
  int queries = 0;
  void add(double p) {
    precision += p;
    ++queries;
  }
  [[nodiscard]] double mean() const { return queries > 0 ? precision / queries : 0.0; }
};

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  std::string shared = "../shared/data";
  std::string mapping_path = default_label_mapping_path();
  int min_side = 48;
  int min_relevant = 5;
  constexpr int kAtK = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data-dir")
      data_dir = argv[i + 1];
    else if (flag == "--shared")
      shared = argv[i + 1];
    else if (flag == "--mapping")
      mapping_path = argv[i + 1];
    else if (flag == "--min-side")
      min_side = std::atoi(argv[i + 1]);
    else if (flag == "--min-relevant")
      min_relevant = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
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
  const ModelRepository repository = ModelRepository::with_defaults({});
  FamilyRegistry families;
  register_all_families(families);
  auto detector = Detector::load(*repository.find_spec("picodet_s_416"), repository, families, {});
  auto embedder = Embedder::load(*repository.find_spec("mobilenetv2_embed"), repository, {});
  if (!detector || !embedder) {
    std::fprintf(stderr, "cannot load the models\n");
    return 2;
  }
  auto stats = (*service)->store().stats();
  auto boxes = read_coco_boxes(shared + "/coco-mini-train2017/annotations/instances_train2017.json",
                               shared + "/coco-mini-train2017/train2017", "coco-mini");
  if (!stats || !boxes) {
    std::fprintf(stderr, "cannot read the catalog or the query annotations\n");
    return 2;
  }
  const LabelMapping& mapping = (*service)->mapping();
  std::printf(
      "catalog %s: %lld products, %lld vectors, %zu categories; mapping %s (weights visual %.2f, label "
      "%.2f)\n",
      data_dir.c_str(), static_cast<long long>(stats->products), static_cast<long long>(stats->vectors),
      stats->categories.size(), mapping_path.c_str(), mapping.weights().visual, mapping.weights().label);

  const std::vector<std::pair<Ranking, std::string>> rankings{
      {Ranking::kLabel, "label-only"}, {Ranking::kVisual, "visual-only"}, {Ranking::kFused, "fused"}};
  std::map<std::string, std::map<std::string, Tally>> tallies;  // condition -> ranking -> tally
  int skipped_small = 0;
  int skipped_category = 0;
  std::string current_path;
  Image image;
  const auto start = std::chrono::steady_clock::now();
  for (const LabelledBox& query : *boxes) {
    if (query.box.width() < static_cast<float>(min_side) ||
        query.box.height() < static_cast<float>(min_side)) {
      ++skipped_small;
      continue;
    }
    const std::string category = mapping.primary_category(query.label);
    auto count = stats->categories.find(category);
    if (category.empty() || count == stats->categories.end() || count->second < min_relevant) {
      ++skipped_category;  // precision@5 = 1 must be reachable
      continue;
    }
    if (query.image_path != current_path) {
      current_path = query.image_path;
      auto bytes = read_file_bytes(current_path, 64U << 20U);
      auto decoded = bytes ? decode_image(*bytes, DecodeLimits{}) : Result<DecodedImage>(bytes.error());
      if (!decoded) {
        std::fprintf(stderr, "%s: %s\n", current_path.c_str(), decoded.error().message.c_str());
        return 1;
      }
      image = std::move(decoded->image);
    }
    QueryAnalysisOptions analysis_options;
    analysis_options.region = query.box;
    auto analysis = analyze_query_image(image, **detector, **embedder, analysis_options);
    if (!analysis) {
      std::fprintf(stderr, "%s: %s\n", query.source.c_str(), analysis.error().message.c_str());
      return 1;
    }
    const QueryObject& object = analysis->objects.at(0);
    const std::string condition = object.label.empty()          ? "region unlabelled"
                                  : object.label == query.label ? "label right"
                                  : mapping.primary_category(object.label) == category
                                      ? "label right (category)"
                                      : "label wrong";
    for (const auto& [ranking, name] : rankings) {
      SearchOptions search_options;
      search_options.limit = kAtK;
      search_options.ranking = ranking;
      auto result = (*service)->search({object}, search_options);
      if (!result) {
        std::fprintf(stderr, "search: %s\n", result.error().message.c_str());
        return 1;
      }
      int relevant = 0;
      for (const ProductMatch& m : result->objects.at(0).products)
        relevant += m.product.category == category ? 1 : 0;
      const double precision = static_cast<double>(relevant) / kAtK;
      tallies["all"][name].add(precision);
      tallies[condition][name].add(precision);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "queries: %d object regions from coco-mini (sides >= %d px; %d smaller and %d whose category has < %d "
      "catalog products skipped), %.0f s\n\n",
      tallies["all"]["fused"].queries, min_side, skipped_small, skipped_category, min_relevant, seconds);
  std::printf("%-24s %8s %12s %12s %12s\n", "queries", "count", "label-only", "visual-only", "fused");
  for (const char* condition :
       {"all", "label right", "label right (category)", "label wrong", "region unlabelled"}) {
    auto it = tallies.find(condition);
    if (it == tallies.end()) continue;
    std::printf("%-24s %8d %12.3f %12.3f %12.3f\n", condition, it->second["fused"].queries,
                it->second["label-only"].mean(), it->second["visual-only"].mean(),
                it->second["fused"].mean());
  }
  const double label = tallies["all"]["label-only"].mean();
  const double visual = tallies["all"]["visual-only"].mean();
  const double fused = tallies["all"]["fused"].mean();
  std::printf(
      "\nprecision@5: label-only %.3f, visual-only %.3f, fused %.3f -> fused %s the better of the two\n",
      label, visual, fused, fused + 1e-9 >= std::max(label, visual) ? "is at least" : "is BELOW");
  return fused + 1e-9 >= std::max(label, visual) ? 0 : 1;
}
