// The catalog's value types: a product as imported and stored, its images, and the indexed objects
// (detected object + crop embedding) of each image.
//
// Units: prices in the catalog's currency units (a plain number; `currency` is informative); boxes in
// pixels of the upright stored product image. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "search/colour.h"

namespace visearch::search {

// One stored image of a product. `file` is relative to the catalog's data directory (content-addressed:
// images/<2 hex>/<sha256>.<ext>), so a catalog folder can be moved as a whole.
struct ProductImage {
  int n = 0;  // 0-based position in the product's image list (the URL's {n})
  std::string file;
  std::string sha256;
  std::string content_type;  // image/jpeg, image/png, image/webp, image/bmp
  int width = 0;             // upright pixels
  int height = 0;
  std::string source;  // where it was imported from (path or "inline"), informative
};

struct Product {
  std::string id;
  std::string title;
  std::string description;
  std::string category;
  std::string brand;
  std::optional<double> price;
  std::string currency;
  std::map<std::string, std::string> attributes;
  std::vector<ProductImage> images;
  std::int64_t updated_at = 0;  // unix seconds
  std::string url;              // the product's page in the shop (http or https), or empty
};

// A detected (or whole-image) object in a product image with its L2-normalised embedding.
struct IndexedObject {
  int image_n = 0;
  std::string label;  // detector label; empty for a whole-image entry
  float score = 0.F;  // detector score; 0 for a whole-image entry
  ImageBox box;
  std::vector<float> embedding;
  ColourProfile colour{};  // of the box's central region (search/colour.h); all 0 when unknown
};

// What an import writes for one product: the product, its images' bytes location, its indexed objects.
struct ProductRecord {
  Product product;
  std::vector<IndexedObject> objects;
};

// Backend-neutral values of catalog reads and writes (SQLite and OpenSearch catalogs alike).

struct UpsertResult {
  int inserted = 0;
  int updated = 0;
  std::int64_t generation = 0;
};

// Filters shared by product listing and search. Strings compare case-insensitively; attribute filters
// require every listed key to have exactly that value.
struct ProductFilters {
  std::string category;
  std::optional<double> min_price;
  std::optional<double> max_price;
  std::map<std::string, std::string> attributes;

  [[nodiscard]] bool empty() const {
    return category.empty() && !min_price && !max_price && attributes.empty();
  }
};

struct ProductQuery {
  std::string text;  // FTS5 words (each word must match, prefix match on the last); empty = all
  ProductFilters filters;
  int limit = 20;
  int offset = 0;
};

struct ProductPage {
  std::vector<Product> products;
  std::int64_t total = 0;  // matches before limit/offset
};

// Facet counts: products per category and per brand (empty values left out).
struct Facets {
  std::map<std::string, std::int64_t> category;
  std::map<std::string, std::int64_t> brand;
};

struct CatalogStats {
  std::int64_t products = 0;
  std::int64_t images = 0;
  std::int64_t vectors = 0;
  std::int64_t generation = 0;
  std::map<std::string, std::int64_t> categories;  // category -> product count
  std::string embedder;  // the model that produced the stored embeddings (empty before the first import)
  int dimension = 0;
  std::string detector;
  std::uint64_t database_bytes = 0;  // catalog.db + WAL
};

}  // namespace visearch::search
