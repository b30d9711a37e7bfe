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
};

// What an import writes for one product: the product, its images' bytes location, its indexed objects.
struct ProductRecord {
  Product product;
  std::vector<IndexedObject> objects;
};

}  // namespace visearch::search
