// Catalog: the product catalog as the rest of visearch sees it, whatever engine holds it. It speaks in
// products, images, object vectors, filters and rankings, never in SQL or query DSL, so that another
// engine is one more implementation and one line in open_catalog().
//
// Engines (chosen by a catalog URI, see parse_catalog_uri()):
//   sqlite:DIR                       one machine: SQLite + FTS5 + an in-process vector index (the default,
//                                    what --data-dir DIR means); src/search/sqlite_catalog.h
//   opensearch+http(s)://HOSTS/PREFIX a cluster: one document per product with nested object vectors
//                                    (k-NN, Lucene HNSW), BM25 text, keyword filters;
//                                    src/search/opensearch/opensearch_catalog.h
//
// Contract shared by every engine:
//  - upsert() and remove() are all-or-nothing and move the catalog to a new generation; a search sees
//    one generation for its whole run, never half an import.
//  - search() ranks with fuse() (search/ranking.h), so the same catalog gives the same ranking on every
//    engine up to the engines' own text scoring.
//  - Expected failures are Result errors: kNotFound, kInvalidArgument, kUnavailable (engine unreachable,
//    busy or unhealthy: HTTP 503), kIo.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "io/image_decode.h"
#include "search/adaptation.h"
#include "search/product.h"
#include "search/ranking.h"
#include "search/vector_index.h"

namespace visearch::search {

class Catalog {
 public:
  virtual ~Catalog() = default;
  Catalog() = default;
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;
  Catalog(Catalog&&) = delete;
  Catalog& operator=(Catalog&&) = delete;

  // The catalog URI without credentials (for logs and JSON).
  [[nodiscard]] virtual std::string location() const = 0;
  // "sqlite" or "opensearch".
  [[nodiscard]] virtual std::string engine() const = 0;

  // Records (first import) or checks (later ones) the embedding model and dimension; kInvalidArgument on a
  // mismatch (vectors of different models are not comparable).
  virtual Status bind_embedder(const std::string& embedder, int dimension, const std::string& detector) = 0;
  // Stores encoded image bytes (content-addressed; nothing to do when that content is there) and fills
  // sha256, content_type and file. The caller fills n, width, height, source.
  virtual Result<ProductImage> store_image(std::span<const std::uint8_t> bytes, ImageFormat format) = 0;
  // The bytes of a stored image.
  virtual Result<std::vector<std::uint8_t>> image_bytes(const ProductImage& image) = 0;
  // The indexed objects of an already stored image with this content, or nullopt.
  virtual Result<std::optional<std::vector<IndexedObject>>> indexed_objects_for(
      const std::string& sha256) = 0;

  virtual Result<UpsertResult> upsert(const std::vector<ProductRecord>& records) = 0;
  // Deletes these products (all or nothing); returns the ids that existed.
  virtual Result<std::vector<std::string>> remove(const std::vector<std::string>& ids) = 0;

  virtual Result<std::optional<Product>> get(const std::string& id) = 0;
  virtual Result<ProductPage> query(const ProductQuery& query) = 0;
  virtual Result<CatalogStats> stats() = 0;
  // (id, category) of every product, in id order.
  virtual Result<std::vector<std::pair<std::string, std::string>>> product_categories() = 0;
  // Every product with its indexed objects, in id order (catalog migration, backups).
  virtual Status for_each_record(const std::function<Status(const ProductRecord&)>& visit) = 0;

  virtual Result<SearchResult> search(const std::vector<QueryObject>& objects,
                                      const SearchOptions& options) = 0;
  // Prepares what the first search would otherwise build (SQLite: the vector index); returns the number of
  // object vectors searchable.
  virtual Result<std::size_t> warm() = 0;
  // kUnavailable while the engine cannot answer searches (readiness).
  virtual Status check_available() = 0;
  [[nodiscard]] virtual const LabelMapping& mapping() const = 0;

  // The catalog's embedding adaptation (search/adaptation.h), fresh or stale, or nullopt when it has none.
  virtual Result<std::optional<EmbeddingAdaptation>> adaptation() = 0;
  // Stores (replaces) it; search uses it while the catalog stays at its generation. kInvalidArgument
  // where the engine cannot use one.
  virtual Status store_adaptation(const EmbeddingAdaptation& adaptation) = 0;
};

struct CatalogOpenOptions {
  std::string uri;           // sqlite:DIR | opensearch+http(s)://HOST:PORT[,HOST:PORT...]/PREFIX
  std::string mapping_path;  // label mapping JSON ("" = the default)
  bool create = true;        // create an empty catalog when there is none
  // SQLite only: the vector index and its rebuild policy (see SearchService).
  IndexKind index = IndexKind::kAuto;
  HnswParams hnsw;
  bool serve_stale_while_rebuilding = false;
  // OpenSearch only.
  std::string credentials_file;  // "user:password" (basic auth) or "ApiKey <key>" on its first line
  std::string ca_file;           // PEM bundle to verify the cluster's certificate ("" = system CAs)
  bool tls_verify = true;        // --catalog-insecure turns it off (never silently)
  int shards = 3;                // for indexes visearch creates
  int replicas = 1;
};

// A parsed catalog URI.
struct CatalogUri {
  enum class Engine { kSqlite, kOpenSearch } engine = Engine::kSqlite;
  std::string path;                // sqlite: the catalog folder
  bool https = false;              // opensearch: the scheme
  std::vector<std::string> hosts;  // opensearch: "host:port", at least one (requests fail over in order)
  std::string prefix;              // opensearch: names of visearch's indexes and aliases start with it
};
// kInvalidArgument with the accepted forms when `uri` is not one of them (credentials inside the URI are
// refused: they would show in process lists and logs; use a credentials file).
Result<CatalogUri> parse_catalog_uri(const std::string& uri);

// Opens the catalog a URI names. A bare path (no scheme) means sqlite:PATH.
Result<std::unique_ptr<Catalog>> open_catalog(const CatalogOpenOptions& options);

}  // namespace visearch::search
