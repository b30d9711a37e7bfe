#include "search/adapt/catalog_adapt.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <type_traits>
#include <unordered_map>

#include "core/sha256.h"
#include "dataset/fs_util.h"
#include "io/image_decode.h"
#include "search/label_mapping.h"
#include "search/vector_index.h"

namespace visearch::search {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct CatalogObject {
  std::size_t product = 0;  // index into the products read
  int cls = 0;
  int image_n = 0;
  ImageBox box;
  std::vector<float> embedding;  // stored (the embedder's space)
};

struct ProductEntry {
  Product product;
  int cls = 0;
  bool heldout = false;
};

std::string trimmed_lower(std::string_view text) {
  return to_lower_ascii(std::string(dataset::detail::trim(text)));
}

// The product's declared value of `key` (lower-case; "brand" is the brand field), or "".
std::string declared_value(const Product& product, const std::string& key) {
  if (key == "brand") return trimmed_lower(product.brand);
  for (const auto& [k, v] : product.attributes)
    if (to_lower_ascii(k) == key) return trimmed_lower(v);
  return "";
}

}  // namespace

std::vector<AttributeChoice> choose_attributes(const std::vector<const Product*>& products,
                                               const std::vector<int>& category,
                                               const AdaptOptions& options) {
  std::set<std::string> keys;
  const bool named = !options.attribute_keys.empty();
  if (named) {
    for (const std::string& k : options.attribute_keys) keys.insert(trimmed_lower(k));
  } else {
    for (const Product* p : products) {
      for (const auto& [k, v] : p->attributes) keys.insert(to_lower_ascii(k));
      if (!p->brand.empty()) keys.insert("brand");
    }
    keys.erase("category");
  }
  std::vector<AttributeChoice> chosen;
  for (const std::string& key : keys) {
    std::map<std::string, int> count;
    for (const Product* p : products) {
      const std::string v = declared_value(*p, key);
      if (!v.empty()) ++count[v];
    }
    AttributeChoice c;
    c.key = key;
    for (const auto& [value, n] : count) {
      if (n < options.min_products_per_value) continue;
      c.values.push_back(value);
      c.products += n;
    }
    if (c.values.size() < 2) continue;
    if (!named && (static_cast<int>(c.values.size()) > options.max_attribute_values ||
                   static_cast<double>(c.products) <
                       options.min_attribute_coverage * static_cast<double>(products.size())))
      continue;
    for (const Product* p : products) {
      const std::string v = declared_value(*p, key);
      const auto it = std::lower_bound(c.values.begin(), c.values.end(), v);
      c.value_of_product.push_back(it != c.values.end() && *it == v ? static_cast<int>(it - c.values.begin())
                                                                    : -1);
    }
    // An attribute the category already tells (9 in 10 of the products declaring it have their category's
    // most common value: a "type" that repeats the category) adds nothing to learn.
    std::map<std::pair<int, int>, int> by_category;  // (category, value) -> products
    std::map<int, int> category_best;
    for (std::size_t p = 0; p < products.size(); ++p)
      if (c.value_of_product[p] >= 0) ++by_category[{category[p], c.value_of_product[p]}];
    for (const auto& [cv, n] : by_category) category_best[cv.first] = std::max(category_best[cv.first], n);
    int told = 0;
    for (const auto& [cls, n] : category_best) told += n;
    if (!named && static_cast<double>(told) >= 0.9 * static_cast<double>(c.products)) continue;
    chosen.push_back(std::move(c));
  }
  std::stable_sort(chosen.begin(), chosen.end(), [](const AttributeChoice& a, const AttributeChoice& b) {
    return a.products > b.products;
  });
  if (chosen.size() > static_cast<std::size_t>(std::max(0, options.max_attributes)))
    chosen.resize(static_cast<std::size_t>(std::max(0, options.max_attributes)));
  return chosen;
}

namespace {

// The value the adaptation's attribute `index` names first for the embedder's vector x.
int attribute_argmax(const EmbeddingAdaptation& a, std::size_t index, const std::vector<float>& x) {
  auto row = static_cast<std::size_t>(a.category_rows());
  for (std::size_t i = 0; i < index; ++i) row += a.attributes[i].values.size();
  const auto in = static_cast<std::size_t>(a.in_dim);
  int best = 0;
  double best_logit = 0;
  for (std::size_t v = 0; v < a.attributes[index].values.size(); ++v) {
    const double logit = a.bias[row + v] + dot(a.weight.data() + (row + v) * in, x.data(), in);
    if (v == 0 || logit > best_logit) {
      best = static_cast<int>(v);
      best_logit = logit;
    }
  }
  return best;
}

// Share of each query's 5 nearest gallery vectors (cosine) with the query's class; 0 without queries.
double precision_at_5(const std::vector<std::vector<float>>& gallery, const std::vector<int>& gallery_cls,
                      const std::vector<std::vector<float>>& queries, const std::vector<int>& query_cls) {
  if (queries.empty() || gallery.empty()) return 0;
  const std::size_t k = std::min<std::size_t>(5, gallery.size());
  double sum = 0;
  std::vector<std::pair<float, std::size_t>> scored(gallery.size());
  for (std::size_t q = 0; q < queries.size(); ++q) {
    for (std::size_t g = 0; g < gallery.size(); ++g)
      scored[g] = {dot(queries[q].data(), gallery[g].data(), queries[q].size()), g};
    std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(k), scored.end(),
                      [](const auto& a, const auto& b) {
                        return a.first > b.first || (a.first == b.first && a.second < b.second);
                      });
    int same = 0;
    for (std::size_t i = 0; i < k; ++i) same += gallery_cls[scored[i].second] == query_cls[q] ? 1 : 0;
    sum += static_cast<double>(same) / static_cast<double>(k);
  }
  return sum / static_cast<double>(queries.size());
}

// The best cosine of each query against the gallery.
std::vector<double> best_cosines(const std::vector<std::vector<float>>& gallery,
                                 const std::vector<std::vector<float>>& queries) {
  std::vector<double> best;
  best.reserve(queries.size());
  for (const auto& q : queries) {
    double b = -1;
    for (const auto& g : gallery) b = std::max(b, static_cast<double>(dot(q.data(), g.data(), q.size())));
    best.push_back(b);
  }
  return best;
}

EmbeddingAdaptation to_adaptation(const train::AdapterWeights& w, const std::vector<std::string>& labels,
                                  double mix, double anchor) {
  EmbeddingAdaptation a;
  a.in_dim = w.in_dim;
  a.out_dim = w.out_dim;
  a.weight = w.weight;
  a.bias = w.bias;
  a.prototypes = w.prototypes;
  a.labels = labels;
  a.mix = mix;
  a.anchor = anchor;
  return a;
}

nlohmann::json adapt_settings_to_json(const AdaptOptions& options) {
  return {{"method", adapt_method_name(options.method)},
          {"classifier_max_categories", options.max_classifier_categories},
          {"attribute_weight", options.attribute_weight},
          {"attribute_keys", options.attribute_keys},
          {"attribute_min_products", options.min_products_per_value},
          {"holdout_by", options.holdout_by},
          {"views", options.views},
          {"dim", options.train.out_dim},
          {"heads", options.heads},
          {"epochs", options.train.epochs},
          {"max_objects_per_category", options.max_objects_per_category},
          {"holdout_fraction", options.holdout_fraction},
          {"seed", options.seed},
          {"force", options.force}};
}

AdaptOptions adapt_settings_from_json(const nlohmann::json& settings, AdaptOptions defaults) {
  if (!settings.is_object()) return defaults;
  const auto read = [&](const char* key, auto& field) {
    auto it = settings.find(key);
    if (it == settings.end()) return;
    try {
      field = it->get<std::remove_reference_t<decltype(field)>>();
    } catch (const nlohmann::json::exception&) {  // a damaged report: keep the default
    }
  };
  std::string method(adapt_method_name(defaults.method));
  read("method", method);
  if (auto parsed = parse_adapt_method(method)) defaults.method = *parsed;
  read("classifier_max_categories", defaults.max_classifier_categories);
  read("attribute_weight", defaults.attribute_weight);
  read("attribute_keys", defaults.attribute_keys);
  read("attribute_min_products", defaults.min_products_per_value);
  read("holdout_by", defaults.holdout_by);
  read("views", defaults.views);
  read("dim", defaults.train.out_dim);
  read("heads", defaults.heads);
  read("epochs", defaults.train.epochs);
  read("max_objects_per_category", defaults.max_objects_per_category);
  read("holdout_fraction", defaults.holdout_fraction);
  read("seed", defaults.seed);
  read("force", defaults.force);
  return defaults;
}

}  // namespace

Result<AdaptMethod> parse_adapt_method(std::string_view text) {
  if (text == "auto") return AdaptMethod::kAuto;
  if (text == "classifier") return AdaptMethod::kClassifier;
  if (text == "projection") return AdaptMethod::kProjection;
  return Unexpected{ErrorCode::kInvalidArgument,
                    "unknown adaptation method '" + std::string(text) + "' (auto, classifier, projection)"};
}

std::string_view adapt_method_name(AdaptMethod method) {
  switch (method) {
    case AdaptMethod::kClassifier:
      return "classifier";
    case AdaptMethod::kProjection:
      return "projection";
    case AdaptMethod::kAuto:
      break;
  }
  return "auto";
}

nlohmann::json AdaptReport::to_json() const {
  nlohmann::json mix_table = nlohmann::json::array();
  for (const MixPrecision& m : mixes)
    mix_table.push_back({{"mix", m.mix},
                         {"anchor", m.anchor},
                         {"weight_decay", m.weight_decay},
                         {"precision_at_5", m.precision_at_5}});
  nlohmann::json attribute_table = nlohmann::json::array();
  for (const auto* list : {&attributes, &dropped_attributes})
    for (const AdaptedAttributeReport& a : *list)
      attribute_table.push_back({{"key", a.key},
                                 {"learnt", list == &attributes},
                                 {"values", a.values},
                                 {"products", a.products},
                                 {"weight", a.weight},
                                 {"heldout_objects", a.heldout_objects},
                                 {"heldout_accuracy", a.heldout_accuracy},
                                 {"majority_accuracy", a.majority_accuracy}});
  return {
      {"generation", generation},
      {"method", adapt_method_name(method)},
      {"products", products},
      {"objects", objects},
      {"other_objects", other_objects},
      {"categories", categories},
      {"trained_objects", trained_objects},
      {"views", views},
      {"heldout_products", heldout_products},
      {"heldout_objects", heldout_objects},
      {"heldout_precision_at_5", {{"embedder", base_precision_at_5}, {"adapted", adapted_precision_at_5}}},
      {"mixes", mix_table},
      {"attributes", attribute_table},
      {"mix", mix},
      {"anchor", anchor},
      {"weight_decay", weight_decay},
      {"visual_min_score", visual_min_score},
      {"train_accuracy", train_accuracy},
      {"stored", stored},
      {"not_stored_reason", not_stored_reason},
      {"seconds", {{"embedding", embed_s}, {"training", train_s}, {"total", total_s}}}};
}

Result<AdaptOptions> rebuild_options(Catalog& catalog, AdaptOptions defaults) {
  auto previous = catalog.adaptation();
  if (!previous && previous.error().code == ErrorCode::kIo) return defaults;  // unusable: no settings
  if (!previous) return previous.error();
  if (!previous->has_value()) return defaults;
  const nlohmann::json& report = (*previous)->report;
  return report.contains("settings") ? adapt_settings_from_json(report.at("settings"), std::move(defaults))
                                     : defaults;
}

Result<bool> adaptation_is_stale(Catalog& catalog) {
  auto adaptation = catalog.adaptation();
  // A file search cannot use (damaged, or of an older format) is rebuilt like a stale one.
  if (!adaptation && adaptation.error().code == ErrorCode::kIo) return true;
  if (!adaptation) return adaptation.error();
  if (!adaptation->has_value()) return false;
  auto stats = catalog.stats();
  if (!stats) return stats.error();
  return (*adaptation)->generation != stats->generation;
}

std::vector<bool> choose_heldout(const std::vector<std::string>& ids, const std::vector<int>& category,
                                 const std::vector<std::string>& groups, double fraction,
                                 std::uint64_t seed) {
  const std::size_t n = ids.size();
  std::vector<bool> heldout(n, false);
  if (fraction <= 0 || n == 0) return heldout;
  // A product's group: its `groups` value, or itself when it has none.
  // (The id alone, as before groups existed: a catalog without them keeps its hold-out.)
  const auto group_of = [&](std::size_t p) {
    return groups[p].empty() ? ids[p] : std::string("\x1fgroup\x1f") + groups[p];
  };
  const std::string seed_text = std::to_string(seed);
  const auto rank = [&](std::size_t p) {
    const std::string text = seed_text + ":" + group_of(p);
    return sha256_hex(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),  // NOLINT
                                      text.size()));
  };
  std::map<int, std::vector<std::size_t>> by_class;
  for (std::size_t p = 0; p < n; ++p) by_class[category[p]].push_back(p);
  // Per category, groups in seeded order until the share is reached (ties: the group's products in id order).
  std::set<std::string> picked;
  for (auto& [cls, members] : by_class) {
    if (members.size() < 3) continue;
    std::vector<std::tuple<std::string, std::string, std::size_t>> keyed;
    for (std::size_t p : members) keyed.emplace_back(rank(p), ids[p], p);
    std::sort(keyed.begin(), keyed.end());
    const auto want = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::lround(static_cast<double>(members.size()) * fraction)), 1,
        members.size() - 2);
    std::size_t taken = 0;
    for (const auto& [r, id, p] : keyed) {
      if (taken >= want) break;
      picked.insert(group_of(p));
      ++taken;
    }
  }
  // A group is held out whole, unless that leaves one of its categories with fewer than 2 products to learn
  // from; then none of it is.
  for (std::size_t p = 0; p < n; ++p) heldout[p] = picked.count(group_of(p)) != 0;
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto& [cls, members] : by_class) {
      std::size_t training = 0;
      for (std::size_t p : members) training += heldout[p] ? 0 : 1;
      if (training >= 2 || members.size() < 3) continue;
      // Release the held-out groups of this category, last-ranked first, until 2 remain.
      std::vector<std::pair<std::string, std::size_t>> held;
      for (std::size_t p : members)
        if (heldout[p]) held.emplace_back(rank(p), p);
      std::sort(held.begin(), held.end(), std::greater<>());
      for (const auto& [r, p] : held) {
        if (training >= 2) break;
        const std::string g = group_of(p);
        for (std::size_t q = 0; q < n; ++q)
          if (heldout[q] && group_of(q) == g) {
            heldout[q] = false;
            training += category[q] == cls ? 1 : 0;
          }
        changed = true;
      }
    }
  }
  // Small categories (under 3 products) are never held out, even when a group they share is.
  for (auto& [cls, members] : by_class)
    if (members.size() < 3)
      for (std::size_t p : members) heldout[p] = false;
  return heldout;
}

Result<AdaptReport> adapt_catalog(Catalog& catalog, const Embedder& embedder, const AdaptOptions& options) {
  const auto start = Clock::now();
  if (options.views < 0 || options.views > 64)
    return Unexpected{ErrorCode::kInvalidArgument, "views must be in 0..64"};
  if (options.heads < 1 || options.heads > 16 || options.train.out_dim % options.heads != 0 ||
      options.train.out_dim / options.heads < 2)
    return Unexpected{ErrorCode::kInvalidArgument,
                      "heads must be in 1..16 and divide the adapted dimensions into parts of 2 or more"};
  if (options.mixes.empty() || options.classifier_mixes.empty())
    return Unexpected{ErrorCode::kInvalidArgument, "no candidate mix"};
  for (const auto* list : {&options.mixes, &options.classifier_mixes})
    for (double m : *list)
      if (!(m > 0 && m <= 1)) return Unexpected{ErrorCode::kInvalidArgument, "every mix must be in (0, 1]"};
  if (options.weight_decays.empty())
    return Unexpected{ErrorCode::kInvalidArgument, "no candidate weight decay"};
  if (options.anchors.empty()) return Unexpected{ErrorCode::kInvalidArgument, "no candidate anchor"};
  if (!(options.attribute_weight >= 0 && options.attribute_weight <= 0.5))
    return Unexpected{ErrorCode::kInvalidArgument, "the attributes' weight must be in [0, 0.5]"};
  if (options.classifier_weight_decays.empty())
    return Unexpected{ErrorCode::kInvalidArgument, "no candidate classifier weight decay"};
  for (double a : options.anchors)
    if (!(a >= 0 && a <= 1)) return Unexpected{ErrorCode::kInvalidArgument, "every anchor must be in [0, 1]"};
  const auto stopped = [&] { return options.stop != nullptr && options.stop->load(); };
  const auto progress = [&](std::string_view stage, std::size_t done, std::size_t total) {
    if (options.progress) options.progress(stage, done, total);
  };

  auto stats = catalog.stats();
  if (!stats) return stats.error();
  if (!stats->embedder.empty() && stats->embedder != embedder.spec().name) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "the catalog was indexed with " + stats->embedder + ", not " + embedder.spec().name};
  }
  AdaptReport report;
  report.generation = stats->generation;
  const int dim = embedder.dimension();

  // 1. Products with a category and their objects, one snapshot.
  std::vector<ProductEntry> products;
  std::vector<CatalogObject> objects;
  std::map<std::string, int> class_of;  // lower-case category -> class (sorted: deterministic ids)
  std::vector<std::string> category_names;
  {
    std::vector<ProductRecord> records;
    VISEARCH_TRY(catalog.for_each_record([&](const ProductRecord& record) -> Status {
      if (record.product.category.empty()) return ok_status();
      bool any = false;
      for (const IndexedObject& o : record.objects)
        any = any || o.embedding.size() == static_cast<std::size_t>(dim);
      if (any) records.push_back(record);
      return ok_status();
    }));
    for (const ProductRecord& r : records) class_of.emplace(to_lower_ascii(r.product.category), 0);
    int next = 0;
    for (auto& [name, cls] : class_of) {
      cls = next++;
      category_names.push_back(name);
    }
    // A product's own objects are those its photos show as its category (the detector's label maps to it
    // in the catalog's label mapping): the rest are props, models, other goods in the picture. A category
    // with own objects trains on them only; one without (the mapping does not cover it) on every object.
    const auto is_own = [&](const IndexedObject& o, const std::string& category) {
      for (const std::string& c : catalog.mapping().terms(o.label).categories)
        if (to_lower_ascii(c) == category) return true;
      return false;
    };
    std::vector<bool> class_has_own(class_of.size(), false);
    for (const ProductRecord& r : records) {
      const std::string category = to_lower_ascii(r.product.category);
      for (const IndexedObject& o : r.objects)
        if (o.embedding.size() == static_cast<std::size_t>(dim) && is_own(o, category))
          class_has_own[static_cast<std::size_t>(class_of.at(category))] = true;
    }
    for (ProductRecord& r : records) {
      const std::string category = to_lower_ascii(r.product.category);
      const int cls = class_of.at(category);
      const bool own_only = class_has_own[static_cast<std::size_t>(cls)];
      const std::size_t index = products.size();
      for (IndexedObject& o : r.objects) {
        if (o.embedding.size() != static_cast<std::size_t>(dim)) continue;
        if (own_only && !is_own(o, category)) {
          ++report.other_objects;
          continue;
        }
        objects.push_back(CatalogObject{index, cls, o.image_n, o.box, std::move(o.embedding)});
      }
      products.push_back(ProductEntry{std::move(r.product), cls, false});
    }
  }
  report.products = static_cast<int>(products.size());
  report.objects = static_cast<int>(objects.size()) + report.other_objects;
  report.categories = static_cast<int>(class_of.size());
  if (class_of.size() < 2) {
    return Unexpected{
        ErrorCode::kInvalidArgument,
        "adaptation learns to tell the catalog's categories apart: it needs products with images "
        "in at least two categories (found " +
            std::to_string(class_of.size()) + ")"};
  }
  report.method = options.method != AdaptMethod::kAuto ? options.method
                  : class_of.size() <= static_cast<std::size_t>(options.max_classifier_categories)
                      ? AdaptMethod::kClassifier
                      : AdaptMethod::kProjection;
  const bool classifier = report.method == AdaptMethod::kClassifier;
  // A classifier's product is its category (anchor 0): the catalog says what it is, the photo need not.
  const std::vector<double> anchors = classifier ? std::vector<double>{0.0} : options.anchors;
  const std::vector<double>& weight_decays =
      classifier ? options.classifier_weight_decays : options.weight_decays;
  const std::vector<double>& mixes = classifier ? options.classifier_mixes : options.mixes;
  std::vector<AttributeChoice> attributes;
  if (classifier && options.attribute_weight > 0) {
    std::vector<const Product*> listed;
    std::vector<int> category;
    for (const ProductEntry& p : products) {
      listed.push_back(&p.product);
      category.push_back(p.cls);
    }
    attributes = choose_attributes(listed, category, options);
  }
  std::map<std::string, std::vector<int>> product_attributes;
  const auto index_product_attributes = [&] {
    product_attributes.clear();
    if (attributes.empty()) return;
    for (std::size_t p = 0; p < products.size(); ++p) {
      std::vector<int> values;
      for (const AttributeChoice& a : attributes) values.push_back(a.value_of_product[p]);
      product_attributes.emplace(products[p].product.id, std::move(values));
    }
  };
  index_product_attributes();
  const auto attributes_of = [&](std::size_t product) -> const std::vector<int>* {
    if (attributes.empty()) return nullptr;
    return &product_attributes.at(products[product].product.id);
  };

  // 2. Held-out products: a seeded pick per category, whole groups at a time (--holdout-by).
  {
    std::vector<std::string> ids;
    std::vector<int> category;
    std::vector<std::string> groups;
    for (const ProductEntry& p : products) {
      ids.push_back(p.product.id);
      category.push_back(p.cls);
      groups.push_back(options.holdout_by.empty()
                           ? std::string()
                           : declared_value(p.product, trimmed_lower(options.holdout_by)));
    }
    const std::vector<bool> heldout =
        choose_heldout(ids, category, groups, options.holdout_fraction, options.seed);
    for (std::size_t p = 0; p < products.size(); ++p) products[p].heldout = heldout[p];
  }
  for (const ProductEntry& p : products) report.heldout_products += p.heldout ? 1 : 0;

  // 3. Training rows: the stored embedding of every object, plus `views` augmented crops of at most
  // max_objects_per_category objects per category.
  std::mt19937 rng(static_cast<std::uint32_t>(options.seed * 2246822519ULL + 7));
  std::vector<std::vector<std::size_t>> objects_of_class(class_of.size());
  for (std::size_t o = 0; o < objects.size(); ++o)
    objects_of_class[static_cast<std::size_t>(objects[o].cls)].push_back(o);
  std::vector<bool> augmented(objects.size(), false);
  for (auto& members : objects_of_class) {
    std::shuffle(members.begin(), members.end(), rng);
    const std::size_t n =
        std::min(members.size(), static_cast<std::size_t>(std::max(0, options.max_objects_per_category)));
    for (std::size_t i = 0; i < n; ++i) augmented[members[i]] = true;
  }
  struct Row {
    std::size_t object = 0;
    std::vector<float> feature;
  };
  std::vector<Row> rows;
  for (std::size_t o = 0; o < objects.size(); ++o) rows.push_back(Row{o, objects[o].embedding});
  const auto embed_start = Clock::now();
  if (options.views > 0) {
    // Group objects by image so each photo is read and decoded once.
    std::map<std::pair<std::size_t, int>, std::vector<std::size_t>> by_image;
    for (std::size_t o = 0; o < objects.size(); ++o)
      if (augmented[o]) by_image[{objects[o].product, objects[o].image_n}].push_back(o);
    std::size_t done = 0;
    const std::size_t total = static_cast<std::size_t>(std::count(augmented.begin(), augmented.end(), true));
    for (const auto& [key, members] : by_image) {
      if (stopped()) return Unexpected{ErrorCode::kUnavailable, "adaptation stopped"};
      const Product& product = products[key.first].product;
      const int image_n = key.second;
      const auto image = std::find_if(product.images.begin(), product.images.end(),
                                      [image_n](const ProductImage& i) { return i.n == image_n; });
      if (image == product.images.end()) continue;
      auto bytes = catalog.image_bytes(*image);
      if (!bytes) return bytes.error();
      auto decoded = decode_image(*bytes, DecodeLimits{});
      if (!decoded)
        return Error{decoded.error().code, "product " + product.id + " image " + std::to_string(key.second) +
                                               ": " + decoded.error().message};
      for (std::size_t o : members) {
        std::mt19937 view_rng(static_cast<std::uint32_t>(options.seed * 1000003ULL + o * 7919ULL + 13));
        for (int v = 0; v < options.views; ++v) {
          const Image crop = train::augment_crop(decoded->image, objects[o].box, options.augment, view_rng);
          auto embedding = embedder.embed(crop);
          if (!embedding) return embedding.error();
          rows.push_back(Row{o, std::move(*embedding)});
          ++report.views;
        }
        ++report.trained_objects;
        progress("embedding", ++done, total);
      }
    }
  }
  report.embed_s = seconds_since(embed_start);

  // One projection per head, each with its own seed, stacked (adaptation.h); mix and anchor are set later.
  const auto train_on = [&](bool include_heldout, double weight_decay) -> Result<EmbeddingAdaptation> {
    std::vector<float> features;
    std::vector<int> labels;
    for (const Row& r : rows) {
      const CatalogObject& o = objects[r.object];
      if (!include_heldout && products[o.product].heldout) continue;
      features.insert(features.end(), r.feature.begin(), r.feature.end());
      labels.push_back(o.cls);
    }
    train::ClassifierTrainOptions classifier_options = options.classifier;  // the category's and attributes'
    classifier_options.weight_decay = weight_decay;
    classifier_options.threads = options.train.threads;
    std::vector<EmbeddingAdaptation> heads;
    double accuracy = 0;
    for (int h = 0; h < options.heads; ++h) {
      train::AdapterTrainOptions t = options.train;
      t.out_dim = options.train.out_dim / options.heads;
      t.seed = options.seed + static_cast<std::uint64_t>(h) * 0x9E3779B97F4A7C15ULL;
      t.weight_decay = weight_decay;
      if (report.method == AdaptMethod::kClassifier) {  // convex: one training, no seed
        auto weights = train::train_classifier(features, dim, labels, static_cast<int>(class_of.size()),
                                               classifier_options);
        if (!weights) return weights.error();
        accuracy = weights->train_accuracy;
        heads.push_back(to_adaptation(*weights, category_names, 1.0, 1.0));
        heads.back().output = "softmax";
        break;
      }
      auto weights = train::train_adapter(features, dim, labels, static_cast<int>(class_of.size()), t);
      if (!weights) return weights.error();
      accuracy += weights->train_accuracy / options.heads;
      heads.push_back(to_adaptation(*weights, category_names, 1.0, 1.0));
      if (stopped()) return Unexpected{ErrorCode::kUnavailable, "adaptation stopped"};
    }
    EmbeddingAdaptation stacked = EmbeddingAdaptation::stack(heads);
    stacked.report = {{"train_accuracy", accuracy}};
    // The attributes: one classifier each, on the rows of products that declare one of its values.
    for (const AttributeChoice& attribute : attributes) {
      std::vector<float> attribute_features;
      std::vector<int> attribute_labels;
      for (const Row& r : rows) {
        const CatalogObject& o = objects[r.object];
        const int value = attribute.value_of_product[o.product];
        if ((!include_heldout && products[o.product].heldout) || value < 0) continue;
        attribute_features.insert(attribute_features.end(), r.feature.begin(), r.feature.end());
        attribute_labels.push_back(value);
      }
      if (attribute_labels.size() < 2) continue;
      auto weights = train::train_classifier(attribute_features, dim, attribute_labels,
                                             static_cast<int>(attribute.values.size()), classifier_options);
      if (!weights) return weights.error();
      stacked.add_attribute({attribute.key, attribute.values,
                             options.attribute_weight / static_cast<double>(attributes.size())},
                            weights->weight, weights->bias);
      if (stopped()) return Unexpected{ErrorCode::kUnavailable, "adaptation stopped"};
    }
    stacked.product_attributes = product_attributes;
    return stacked;
  };

  // 4. Train without the held-out products; choose the mix on them.
  const auto train_start = Clock::now();
  std::vector<std::vector<float>> gallery;
  std::vector<int> gallery_cls;
  std::vector<std::size_t> gallery_product;
  std::vector<std::vector<float>> queries;
  std::vector<int> query_cls;
  std::vector<std::size_t> query_product;
  for (const CatalogObject& o : objects) {
    if (products[o.product].heldout) {
      queries.push_back(o.embedding);
      query_cls.push_back(o.cls);
      query_product.push_back(o.product);
    } else {
      gallery.push_back(o.embedding);
      gallery_cls.push_back(o.cls);
      gallery_product.push_back(o.product);
    }
  }
  // How well the held-out adaptation names the attributes of the held-out objects that declare one.
  const auto attribute_reports = [&](const EmbeddingAdaptation& held) {
    std::vector<AdaptedAttributeReport> out;
    for (std::size_t i = 0; i < held.attributes.size(); ++i) {
      const auto choice = std::find_if(attributes.begin(), attributes.end(), [&](const AttributeChoice& c) {
        return c.key == held.attributes[i].key;
      });
      AdaptedAttributeReport r;
      r.key = held.attributes[i].key;
      r.values = static_cast<int>(held.attributes[i].values.size());
      r.products = choice->products;
      r.weight = held.attributes[i].weight;
      std::vector<int> gallery_count(held.attributes[i].values.size(), 0);
      for (std::size_t p : gallery_product) {
        const int v = choice->value_of_product[p];
        if (v >= 0) ++gallery_count[static_cast<std::size_t>(v)];
      }
      const auto majority = static_cast<int>(std::max_element(gallery_count.begin(), gallery_count.end()) -
                                             gallery_count.begin());
      int right = 0;
      int majority_right = 0;
      for (std::size_t q = 0; q < queries.size(); ++q) {
        const int v = choice->value_of_product[query_product[q]];
        if (v < 0) continue;
        ++r.heldout_objects;
        right += attribute_argmax(held, i, queries[q]) == v ? 1 : 0;
        majority_right += v == majority ? 1 : 0;
      }
      if (r.heldout_objects > 0) {
        r.heldout_accuracy = static_cast<double>(right) / r.heldout_objects;
        r.majority_accuracy = static_cast<double>(majority_right) / r.heldout_objects;
      }
      out.push_back(std::move(r));
    }
    return out;
  };
  report.heldout_objects = static_cast<int>(queries.size());
  report.mix = mixes.front();
  report.anchor = anchors.back();
  report.weight_decay = weight_decays.front();
  if (!queries.empty()) {
    report.base_precision_at_5 = precision_at_5(gallery, gallery_cls, queries, query_cls);
    // The visual threshold of the adapted space: the adapted cosine that as many held-out queries reach as
    // reach the mapping's visual min_score in the embedder's space.
    const double raw_min = catalog.mapping().min_score("visual");
    const std::vector<double> raw_best = best_cosines(gallery, queries);
    const auto answered = static_cast<std::size_t>(
        std::count_if(raw_best.begin(), raw_best.end(), [&](double x) { return x >= raw_min; }));
    const auto calibrate = [answered](std::vector<double> adapted_best) {
      std::sort(adapted_best.begin(), adapted_best.end(), std::greater<>());
      return answered == 0 ? adapted_best.front() + 1e-6 : adapted_best[answered - 1];
    };
    // Attributes the photos do not show (held-out objects named no better than by the most common value
    // alone: a brand on look-alike goods, a code) are not learnt.
    if (!attributes.empty()) {
      auto probe = train_on(false, weight_decays[weight_decays.size() / 2]);
      if (!probe) return probe.error();
      std::vector<AttributeChoice> shown;
      for (AdaptedAttributeReport& r : attribute_reports(*probe)) {
        const bool learnt = r.heldout_objects == 0 || r.heldout_accuracy > r.majority_accuracy + 0.05;
        if (learnt) {
          shown.push_back(*std::find_if(attributes.begin(), attributes.end(),
                                        [&](const AttributeChoice& c) { return c.key == r.key; }));
        } else {
          r.weight = 0;
          report.dropped_attributes.push_back(std::move(r));
        }
      }
      attributes = std::move(shown);
      index_product_attributes();
    }
    double best = -1;
    std::size_t step = 0;
    for (double weight_decay : weight_decays) {
      progress("training", step++, weight_decays.size() + 1);
      auto held = train_on(false, weight_decay);
      if (!held) return held.error();
      if (stopped()) return Unexpected{ErrorCode::kUnavailable, "adaptation stopped"};
      for (double mix : mixes) {
        for (double anchor : anchors) {
          EmbeddingAdaptation a = *held;
          a.mix = mix;
          a.anchor = anchor;
          std::vector<std::vector<float>> g;
          std::vector<std::vector<float>> q;
          for (std::size_t i = 0; i < gallery.size(); ++i)
            g.push_back(a.project(gallery[i], gallery_cls[i], attributes_of(gallery_product[i])));
          for (const auto& v : queries) q.push_back(a.project(v));
          const double p = precision_at_5(g, gallery_cls, q, query_cls);
          report.mixes.push_back(MixPrecision{mix, anchor, weight_decay, p});
          // Ties go to what keeps more of the embedder's space (lower mix, then higher anchor), then to the
          // stronger regularisation.
          if (p > best + 1e-12 || (std::abs(p - best) <= 1e-12 &&
                                   (mix < report.mix || (mix == report.mix && anchor > report.anchor)))) {
            best = p;
            report.mix = mix;
            report.anchor = anchor;
            report.weight_decay = weight_decay;
            report.visual_min_score = calibrate(best_cosines(g, q));
            report.attributes = attribute_reports(a);
          }
        }
      }
    }
    report.adapted_precision_at_5 = best;
  }

  // 5. The stored adaptation learns from every product.
  progress("training", 1, 2);
  auto final_weights = train_on(true, report.weight_decay);
  if (!final_weights) return final_weights.error();
  report.train_s = seconds_since(train_start);
  report.train_accuracy = final_weights->report.value("train_accuracy", 0.0);
  if (queries.empty()) report.attributes = attribute_reports(*final_weights);  // nothing held out
  if (!queries.empty() && report.adapted_precision_at_5 < report.base_precision_at_5 && !options.force) {
    report.not_stored_reason = "held-out products rank worse in the adapted space than in the embedder's";
    report.total_s = seconds_since(start);
    return report;
  }
  EmbeddingAdaptation adaptation = std::move(*final_weights);
  adaptation.mix = report.mix;
  adaptation.anchor = report.anchor;
  adaptation.visual_min_score = report.visual_min_score;
  adaptation.generation = report.generation;
  adaptation.embedder = embedder.spec().name;

  auto after = catalog.stats();
  if (!after) return after.error();
  if (after->generation != report.generation) {
    return Unexpected{ErrorCode::kConflict, "the catalog changed while it was being adapted (generation " +
                                                std::to_string(report.generation) + " -> " +
                                                std::to_string(after->generation) + "); run it again"};
  }
  report.total_s = seconds_since(start);
  report.stored = true;
  adaptation.report = report.to_json();
  adaptation.report["settings"] = adapt_settings_to_json(options);
  VISEARCH_TRY(catalog.store_adaptation(adaptation));
  return report;
}

}  // namespace visearch::search
