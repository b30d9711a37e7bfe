// Catalog adaptation: learns the catalog's own embedding space (search/adaptation.h) from its product
// photos, with their categories as supervision (`visearch catalog adapt`; rebuilt after imports and
// deletes of an adapted catalog).
//
// Flow: read every product with its indexed objects (one catalog generation); keep each product's own
// objects (those whose detector label the catalog's label mapping maps to the product's category: not
// the props, models and other goods in its photos; categories the mapping does not cover keep every
// object) -> hold out a seeded share of the products of every category with 3+ products -> for each
// object, `views` augmented crops of its product photo (train/embedding_adapter.h: box jitter and context,
// flips, colour, blur, low resolution) embedded by the frozen embedder, plus the stored embedding -> train
// the classifier (or the projections, `heads` of them, seeded apart, stacked; see AdaptMethod) on the
// other products -> on the held-out products (queries) against the rest (gallery), precision@5 of "same
// category" in the embedder's space and in the adapted space for each candidate weight decay (one training
// each), `mix` and `anchor`; the best wins -> train again on every product -> store it for the generation
// read. An adaptation that ranks the held-out products worse than the embedder alone is not stored
// (overfitting guard), unless `force`.
//
// Failure modes: kInvalidArgument (fewer than two categories with objects, another embedder than the
// catalog's, an engine without adaptation), kConflict (the catalog changed while adapting: run again),
// kUnavailable (stopped), errors of the catalog and the embedder.
// Thread-safety: one call at a time per catalog; the catalog may be searched meanwhile.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "model/embedder.h"
#include "search/catalog.h"
#include "train/embedding_adapter.h"

namespace visearch::search {

// How the adapted space is learnt (adaptation.h "output"):
//   kClassifier  a category classifier (multinomial logistic regression of the categories on the frozen
//                features; output "softmax"): a query is scored by how likely it shows each product's
//                category. Its space has one dimension per category.
//   kProjection  `heads` linear projections of train.out_dim / heads dimensions each, trained as cosine
//                classifiers (output "cosine"): a fixed size, whatever the number of categories.
//   kAuto        the classifier up to max_classifier_categories categories, the projection above.
enum class AdaptMethod { kAuto, kClassifier, kProjection };

Result<AdaptMethod> parse_adapt_method(std::string_view text);  // "auto", "classifier", "projection"
std::string_view adapt_method_name(AdaptMethod method);

struct AdaptOptions {
  AdaptMethod method = AdaptMethod::kAuto;
  int max_classifier_categories = 256;  // kAuto: the classifier's space grows with the categories
  int views = 8;                        // augmented crops per object
  int max_objects_per_category = 300;   // trained on at most this many objects of a category (seeded pick)
  double holdout_fraction = 0.2;        // of the products of each category with 3+ products
  // Products sharing this attribute's value (a photo shoot, a source image: look-alike photos) are held out
  // together, so held-out products are not judged against their own siblings; empty: each on its own.
  std::string holdout_by;
  std::vector<double> mixes{0.5, 0.7, 0.85, 1.0};  // candidate weights of the adapted cosine
  // ... for the classifier, under 1: its products of one category are alike in the adapted part, and the
  // embedder's part is what orders them (this mug rather than that one).
  std::vector<double> classifier_mixes{0.5, 0.7, 0.85};
  // Candidate pulls of products to their prototype (projection; the classifier's products are their
  // category: anchor 0).
  std::vector<double> anchors{0.0, 0.5, 1.0};
  std::vector<double> weight_decays{5e-4, 5e-3, 3e-2};  // candidate regularisations of the projection
  std::vector<double> classifier_weight_decays{1e-4, 1e-3, 6e-3};  // ... and of the classifier
  // Product attributes the classifier also learns (adaptation.h): their share of the adapted cosine, split
  // evenly between the attributes chosen (0: none). Chosen: the keys named in `attribute_keys`, or when it
  // is empty every attribute (and the brand) that looks categorical: 2 to max_attribute_values values
  // declared by at least min_products_per_value products each, together covering at least
  // min_attribute_coverage of the products (values below min_products_per_value count as undeclared); at
  // most max_attributes of them, the best covered first; not one the category already tells (9 in 10 of its
  // products have their category's most common value). An attribute whose held-out objects the classifier
  // names no better than the most common value alone (+0.05) is then left out.
  double attribute_weight = 0.1;
  std::vector<std::string> attribute_keys;
  int max_attributes = 3;
  int max_attribute_values = 32;
  int min_products_per_value = 10;
  double min_attribute_coverage = 0.5;
  bool force = false;  // store even when held-out products rank worse
  // Projections trained with different seeds, each of train.out_dim / heads dimensions, searched as one
  // (adaptation.h): the adapted space depends less on one training's initialisation and order.
  int heads = 4;
  std::uint64_t seed = 0;
  train::AdapterTrainOptions train;
  train::ClassifierTrainOptions classifier;
  train::CropAugmentOptions augment;
  // Called as work advances: stage ("embedding", "training", "evaluating"), done, total.
  std::function<void(std::string_view stage, std::size_t done, std::size_t total)> progress;
  const std::atomic<bool>* stop = nullptr;
};

struct MixPrecision {
  double mix = 0;
  double anchor = 1;
  double weight_decay = 0;
  double precision_at_5 = 0;
};

struct AdaptedAttributeReport {
  std::string key;
  int values = 0;
  int products = 0;  // declaring one of its values
  double weight = 0;
  // Held-out objects of products declaring a value: share whose value the classifier names first, and the
  // share the most common value alone would name.
  int heldout_objects = 0;
  double heldout_accuracy = 0;
  double majority_accuracy = 0;
};

struct AdaptReport {
  std::int64_t generation = 0;
  AdaptMethod method = AdaptMethod::kClassifier;  // the one used (never kAuto)
  int products = 0;                               // with a category and at least one object
  int objects = 0;
  int other_objects = 0;  // not the product's own (another category's label): not trained on
  int categories = 0;
  int trained_objects = 0;  // objects that gave training views (capped per category)
  int views = 0;            // embedded augmented crops
  int heldout_products = 0;
  int heldout_objects = 0;
  double base_precision_at_5 = 0;     // held-out queries, embedder's space
  double adapted_precision_at_5 = 0;  // held-out queries, adapted space at the chosen mix
  std::vector<MixPrecision> mixes;
  std::vector<AdaptedAttributeReport> attributes;          // learnt with the classifier
  std::vector<AdaptedAttributeReport> dropped_attributes;  // chosen, but the photos do not show them
  double mix = 0;
  double anchor = 1;
  double weight_decay = 0;
  double visual_min_score = -1;  // the visual ranking's threshold in the adapted space (adaptation.h)
  double train_accuracy = 0;
  bool stored = false;
  std::string not_stored_reason;
  double embed_s = 0;
  double train_s = 0;
  double total_s = 0;

  [[nodiscard]] nlohmann::json to_json() const;
};

// An attribute the classifier learns besides the category, with every product's declared value.
struct AttributeChoice {
  std::string key;                    // lower-case; "brand" is the product's brand field
  std::vector<std::string> values;    // lower-case, sorted
  std::vector<int> value_of_product;  // per product: index into values, -1 when none (or too rare)
  int products = 0;                   // declaring one of `values`
};

// Which products are held out (per product, in the order given): in each category with 3+ products a
// seeded share `fraction` (at least 1, leaving at least 2), taken a group at a time: products with the same
// non-empty `groups` value are held out together or not at all, and never so that a category keeps fewer
// than 2 products to learn from. Deterministic for a seed; independent of the order of the products.
std::vector<bool> choose_heldout(const std::vector<std::string>& ids, const std::vector<int>& category,
                                 const std::vector<std::string>& groups, double fraction, std::uint64_t seed);

// The attributes AdaptOptions' rules choose among `products` (category[i]: product i's category id).
std::vector<AttributeChoice> choose_attributes(const std::vector<const Product*>& products,
                                               const std::vector<int>& category, const AdaptOptions& options);

Result<AdaptReport> adapt_catalog(Catalog& catalog, const Embedder& embedder, const AdaptOptions& options);

// The options a rebuild of the catalog's adaptation uses: `defaults` with the settings the current one was
// made with (method, views, dimensions, epochs, cap, hold-out, seed, force; stored in its report), so a
// catalog rebuilt after an import keeps how it was adapted. `defaults` when it has none.
Result<AdaptOptions> rebuild_options(Catalog& catalog, AdaptOptions defaults);

// True when the catalog has an adaptation that is not for its current generation (what an import or delete
// of an adapted catalog leaves behind: the caller rebuilds it), or one search cannot use (a damaged file, an
// older format: rebuilt with the default settings).
Result<bool> adaptation_is_stale(Catalog& catalog);

}  // namespace visearch::search
