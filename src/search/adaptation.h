// EmbeddingAdaptation: a catalog's own embedding space, learnt from its product photos
// (`visearch catalog adapt`, search/adapt/catalog_adapt.h) on top of the frozen embedder.
//
// The embedder (an ImageNet MobileNetV2) knows "a dog" but not which of a shop's categories a crop belongs
// to. The adaptation maps the embedder's vector x to z(x), where crops of one catalog category lie
// together, in one of two ways (`output`):
//   "softmax"  a category classifier: z(x) = normalise(softmax(W x + b)), one row per category; a catalog
//              product's z is its category (the one-hot prototype, anchor 0), so the adapted cosine of a
//              query and a product is how likely the query shows the product's category (relative to the
//              query's other categories).
//   "cosine"   an ensemble of `heads` linear projections of the same size trained (with different seeds):
//              z(x) = [normalise(W_1 x + b_1), ..., normalise(W_H x + b_H)] / sqrt(H)
//              (W stacks the heads' rows: each head has out_dim / heads of them), so the cosine of two
//              adapted vectors is the mean of the heads' cosines: one training's luck weighs less.
// Search then compares
//   v(x) = [sqrt(mix) * z(x), sqrt(1 - mix) * x]      (unit length when x is)
// so the cosine of two vectors is mix * cos_adapted + (1 - mix) * cos_embedder: the catalog's categories
// weigh in, and what the embedder sees (this mug rather than that one) is not thrown away.
// A catalog product's adapted part is also drawn towards its category's prototype (the direction the
// training found for the category, each head's unit prototype stacked like z):
// z' = normalise(anchor * z + (1 - anchor) * prototype). A query's is not (its category is what is
// unknown), so a query close to a category's prototype comes close to all of its products, however few
// photos each has. `mix` and `anchor` are chosen on products held out of training (see the report).
// A classifier may also have learnt product attributes (`attributes`: colour, material, brand...): each is
// one more softmax part of z with its weight w_a, so that
//   cos_adapted = (1 - sum w_a) * cos_category + sum_a w_a * cos_a
// and a query photo of a blue mug comes closer to the mugs declared blue.
//
// An adaptation belongs to one catalog generation: search uses it only while the catalog is at that
// generation and the embedder is the one it was trained on; otherwise it is stale and ignored (search uses
// the embedder's space), until it is rebuilt.
//
// File (<catalog folder>/adaptation.bin, written atomically):
//   "VSADAPT2" | u32 header length | header JSON (with "heads"; "output", "attributes" and
//   "product_attributes" when not the projection's defaults) | float32 LE W (out_dim x in_dim, row-major)
//   | b (out_dim) | prototypes (labels x out_dim; zero in the attributes' columns)
// Files of the first layout ("VSADAPT1", one projection) are refused as an older format.
// Failure modes: load()/parse() -> kNotFound (no file), kIo (unreadable, malformed, older format: never a
// crash).
// Thread-safety: immutable once loaded; project() is const and reentrant.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace visearch::search {

struct EmbeddingAdaptation {
  static constexpr const char* kFileName = "adaptation.bin";

  std::int64_t generation = -1;  // the catalog generation it was trained on
  std::string embedder;          // the embedder model it projects
  int in_dim = 0;
  int out_dim = 0;
  int heads = 1;  // projections stacked in W, b and the prototypes; divides out_dim
  // How a head's W x + b becomes its part of z: "cosine" (normalised as it is) or "softmax" (a category
  // classifier's logits: their softmax, normalised; out_dim = labels, prototypes one-hot).
  std::string output = "cosine";
  // Product attributes the classifier also learnt ("softmax" output, one head): each a softmax part of its
  // own after the category's rows, in this order, with its share of the adapted cosine.
  struct Attribute {
    std::string key;                  // "color", "material", "brand" (lower-case)
    std::vector<std::string> values;  // the values it tells apart (lower-case), 2 or more
    double weight = 0;                // share of the adapted cosine, (0, 1); the category has the rest
  };
  std::vector<Attribute> attributes;
  // Each product's declared value of every attribute (an index into its values, -1: none declared), for
  // the generation it was trained on. A product's attribute part is its declared value (one-hot), or what
  // its photo shows when it declares none; a query's is what its photo shows.
  std::map<std::string, std::vector<int>> product_attributes;
  double mix = 1.0;                 // weight of the adapted cosine, (0, 1]
  double anchor = 1.0;              // weight of a product's own adapted vector against its prototype, [0, 1]
  std::vector<std::string> labels;  // the categories it was trained to separate (lower-case)
  // The visual ranking's minimum score in this space (cosines here are not the embedder's): chosen so that
  // held-out queries are answered as often as the mapping's visual min_score answers them in the
  // embedder's space. < 0: none (the mapping's).
  double visual_min_score = -1;
  std::vector<float> weight;      // out_dim x in_dim
  std::vector<float> bias;        // out_dim
  std::vector<float> prototypes;  // labels x out_dim (unit rows, each head's part of length 1 / sqrt(heads))
  nlohmann::json report;          // how it was trained and what held-out products showed

  // Dimension of the vectors search compares (out_dim + in_dim, or out_dim when mix is 1).
  [[nodiscard]] int search_dim() const { return mix >= 1.0 ? out_dim : out_dim + in_dim; }
  // v(x) above; `x` must have in_dim values (an L2-normalised embedding). `label`: the index in `labels`
  // of a catalog product's category (its vector is drawn to the prototype), or -1 (queries, uncategorised).
  // `attribute_values`: a catalog product's values (product_attributes), or null (queries).
  [[nodiscard]] std::vector<float> project(std::span<const float> x, int label = -1,
                                           const std::vector<int>* attribute_values = nullptr) const;
  // The rows of W that are the category's (heads), before the attributes' rows.
  [[nodiscard]] int category_rows() const;
  // Appends an attribute classifier's rows (values.size() x in_dim, row-major) and biases; output "softmax",
  // one head.
  void add_attribute(Attribute attribute, const std::vector<float>& rows, const std::vector<float>& biases);
  // A product's attribute values, or null when it has none stored.
  [[nodiscard]] const std::vector<int>* attributes_of(const std::string& product_id) const;
  // Stacks adaptations of one embedder and one label list (the same in_dim, out_dim, heads each) into one
  // with all their heads; mix, anchor and the rest are the first's. At least one.
  static EmbeddingAdaptation stack(const std::vector<EmbeddingAdaptation>& parts);
  // Index of a (lower-case) category in `labels`, or -1.
  [[nodiscard]] int label_index(const std::string& category) const;

  [[nodiscard]] std::string serialize() const;
  static Result<EmbeddingAdaptation> parse(std::string_view bytes, const std::string& origin);
  static Result<EmbeddingAdaptation> load(const std::string& path);
  Status save(const std::string& path) const;
};

}  // namespace visearch::search
