// Ranking: the values of a visual search (options, score components, results) and the one fusion rule
// every catalog engine applies, so that the same catalog ranks the same on SQLite and on OpenSearch.
//
// An engine gathers candidates for a query object (nearest object vectors, label keyword/category hits,
// the shopper's words) with their raw scores; fuse() turns them into the ranked, thresholded list:
//   visual  best cosine similarity of the query crop with the product's image objects, clamped to [0, 1]
//   label   0.6 * category + 0.4 * text, text = bm25 of the label keywords / the best bm25 of the query
//   query   bm25 of the shopper's words / the best bm25 of those words
//   colour  agreement of the query object's colours with the product's (search/colour.h): the mean of
//           the best colour similarity over the product's indexed objects and, when the product declares
//           a colour attribute, how much of the query is that colour; in [0, 1]
//   fused   (w_visual * visual + w_label * label [+ w_query * query] [+ w_colour * colour])
//           / (sum of the weights used); colour is used when the query object and the product both have
//           colours (a product indexed before colours were stored is ranked on the other parts)
// Ties break on the visual part, then on the product id (ascending), so results are deterministic.
// Thread-safety: plain values and a pure function.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "search/label_mapping.h"
#include "search/object_analysis.h"
#include "search/product.h"
#include "search/vector_index.h"

namespace visearch::search {

enum class Ranking { kFused, kVisual, kLabel };
struct FusionCandidate;
struct FusionParams;
Result<Ranking> parse_ranking(std::string_view text);  // "fused", "visual", "label"
std::string_view ranking_name(Ranking ranking);

struct SearchOptions {
  int limit = 10;  // products per object, 1..100
  Ranking ranking = Ranking::kFused;
  ProductFilters filters;
  // Products scoring below this are not returned (an object may then have none: "no good match").
  // Unset: the mapping file's min_score for the ranking (LabelMapping::min_score()).
  std::optional<double> min_score;
  // Shopper words with the photo ("this, but in red"): bm25 of any of its words over the product text, a
  // third component of the fused score (weight FusionWeights::query). Other rankings ignore it.
  std::string query_text;
  // When set, each engine calls it once per query object with the candidates and fusion parameters it is
  // about to give fuse() (search-eval --tune gathers them once and re-fuses them with other weights).
  std::function<void(const QueryObject&, const std::vector<FusionCandidate>&, const FusionParams&)>
      candidate_sink;
};

struct ScoreComponents {
  double visual = 0;    // best cosine similarity over the product's image objects, clamped to [0, 1]
  double label = 0;     // 0.6 * category + 0.4 * text
  double text = 0;      // normalised bm25 of the label keywords, [0, 1]
  double category = 0;  // 1 when the product category is one the label maps to
  double query = 0;     // normalised bm25 of the shopper's words (SearchOptions::query_text), [0, 1]
  double colour = 0;    // colour agreement, [0, 1] (fused ranking; 0 when not used)
};

struct ProductMatch {
  Product product;
  double score = 0;
  ScoreComponents components;
  int matched_image = 0;  // the product image whose object matched best (visual), else 0
};

struct ObjectMatches {
  QueryObject object;  // embedding cleared
  std::vector<ProductMatch> products;
};

struct SearchResult {
  std::vector<ObjectMatches> objects;
  std::int64_t generation = 0;  // of the index that ranked the products
  bool adapted = false;         // visual similarity in the catalog's adapted space (search/adaptation.h)
  bool stale = false;           // the catalog has moved on; the index for its generation is being built
  IndexKind index_kind = IndexKind::kExact;
  std::size_t vectors = 0;
  double rank_ms = 0;
  // Products per category and brand among those passing the request's filters, read from the same catalog
  // generation as the ranking (what a shop shows beside the results to narrow them).
  Facets facets;
};

// One candidate product for one query object, as an engine found it.
struct FusionCandidate {
  std::string id;
  double visual = 0;  // cosine similarity (clamped by fuse())
  int image_n = 0;    // the product image whose object matched best
  bool in_label_category = false;
  double text_raw = 0;   // bm25 of the label keywords (engine scale), 0 when not matched
  double query_raw = 0;  // bm25 of the shopper's words (engine scale), 0 when not matched
  double colour = -1;  // colour agreement in [0, 1] (colour_agreement()); negative: the product's is unknown
};

struct FusionParams {
  Ranking ranking = Ranking::kFused;
  bool use_visual = false;  // the object has an embedding and the ranking uses it
  bool use_label = false;   // the object has a label and the ranking uses it
  bool use_query = false;   // fused ranking with shopper words
  bool use_colour = false;  // fused ranking and the query object has a colour profile
  double best_text = 0;     // the largest text_raw of this object's label query
  double best_query = 0;    // the largest query_raw of the shopper's words
  FusionWeights weights;
  double min_score = 0;
  int limit = 10;
};

struct FusedCandidate {
  std::size_t candidate = 0;  // index into the candidates given to fuse()
  double score = 0;
  ScoreComponents components;
};

// A candidate's colour agreement: the mean of the best colour_similarity(query, o) over the product's
// objects whose profile is known (when any is) and declared_colour_match(query, declared) (when the
// product declares a colour); negative when neither is known. Engines call it so SQLite and OpenSearch
// agree.
double colour_agreement(const ColourProfile& query, std::span<const ColourProfile> product_objects,
                        std::uint16_t declared);

// The best `params.limit` candidates scoring at least `params.min_score`, best first.
std::vector<FusedCandidate> fuse(const std::vector<FusionCandidate>& candidates, const FusionParams& params);

}  // namespace visearch::search
