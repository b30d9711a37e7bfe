// OpenSearchCatalog: the catalog in an OpenSearch 2.x cluster, for catalogs and traffic past one machine.
// Several `visearch serve` replicas can share it; they hold no catalog state of their own.
//
// Indexes (PREFIX from the catalog URI):
//   PREFIX-products           an alias to the serving generation, PREFIX-products-gN: one document per
//                             product (BM25 text fields, keyword fields for category, brand and attributes,
//                             price, the product as stored) with a nested list of its image objects, each
//                             with label, box and a knn_vector (HNSW, cosine, Lucene engine).
//   PREFIX-images             product image bytes by sha256 (content-addressed; written before any product
//                             refers to them, so a product never points at a missing image).
//   PREFIX-meta               the embedder binding and the import lock.
// The mapping is created by visearch and versioned (_meta.visearch_mapping_version); opening an index made
// by another version is an error that says so, never a silent reindex.
//
// Generations: every upsert/remove builds a new index PREFIX-products-g(N+1) (the serving one copied by
// _reindex, then the change applied with _bulk, with retries and back-off on 429/5xx), refreshes it and
// switches the alias in one _aliases call. A search resolves the alias once and reads that one index, so it
// never sees half an import; a failed import deletes its new index and leaves generation N serving. The
// generation before the serving one is kept (searches in flight may still read it), older ones are deleted.
// One import at a time per catalog, across processes (a lock document; a stale one, older than an hour,
// is taken over).
//
// Ranking: candidates from k-NN on the nested vectors (closest object per product), BM25 on the label's
// keywords and the shopper's words, and the label's categories, all under the request's filters; exact
// cosine for candidates the k-NN did not return (script score); then fuse() exactly as SQLite does.
//
// Failures: cluster unreachable, red or answering 429/5xx -> kUnavailable; bad credentials ->
// kUnauthorized; a missing catalog (without create) -> kNotFound; a mapping of another version ->
// kInvalidArgument. Thread-safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "search/catalog.h"
#include "search/opensearch/http_client.h"

namespace visearch::search {

class OpenSearchCatalog final : public Catalog {
 public:
  static constexpr int kMappingVersion = 1;

  static Result<std::unique_ptr<OpenSearchCatalog>> open(const CatalogUri& uri,
                                                         const CatalogOpenOptions& options);

  [[nodiscard]] std::string location() const override;
  [[nodiscard]] std::string engine() const override { return "opensearch"; }
  Status bind_embedder(const std::string& embedder, int dimension, const std::string& detector) override;
  Result<ProductImage> store_image(std::span<const std::uint8_t> bytes, ImageFormat format) override;
  Result<std::vector<std::uint8_t>> image_bytes(const ProductImage& image) override;
  Result<std::optional<std::vector<IndexedObject>>> indexed_objects_for(const std::string& sha256) override;
  Result<UpsertResult> upsert(const std::vector<ProductRecord>& records) override;
  Result<std::vector<std::string>> remove(const std::vector<std::string>& ids) override;
  Result<std::optional<Product>> get(const std::string& id) override;
  Result<ProductPage> query(const ProductQuery& query) override;
  Result<CatalogStats> stats() override;
  Result<std::vector<std::pair<std::string, std::string>>> product_categories() override;
  Status for_each_record(const std::function<Status(const ProductRecord&)>& visit) override;
  Result<SearchResult> search(const std::vector<QueryObject>& objects, const SearchOptions& options) override;
  Result<std::size_t> warm() override;
  Status check_available() override;
  [[nodiscard]] const LabelMapping& mapping() const override { return mapping_; }
  // Adaptation needs every object vector re-projected in the index; not available on this engine yet.
  Result<std::optional<EmbeddingAdaptation>> adaptation() override {
    return std::optional<EmbeddingAdaptation>();
  }
  Status store_adaptation(const EmbeddingAdaptation& /*adaptation*/) override {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "catalog adaptation is available for sqlite: catalogs only; an OpenSearch catalog "
                      "searches in the embedder's space (docs/search.md)"};
  }

  // The concrete index serving now and its generation ("" and 0 before the first import).
  struct Serving {
    std::string index;
    std::int64_t generation = 0;
  };
  Result<Serving> serving(bool fresh);

  OpenSearchCatalog(const CatalogUri& uri, const CatalogOpenOptions& options, LabelMapping mapping,
                    opensearch::HttpClientOptions http);

 private:
  struct Binding {
    std::string embedder;
    std::string detector;
    int dimension = 0;
  };
  // A JSON call: 2xx -> the parsed body; otherwise the cluster's error as a Result error.
  Result<nlohmann::json> call(std::string_view method, const std::string& path, const nlohmann::json* body,
                              bool retry = false);
  Result<nlohmann::json> call_raw(std::string_view method, const std::string& path, const std::string& body,
                                  std::string_view content_type, bool retry);
  Status ensure_support_indexes(bool create);
  Status check_mapping_version(const std::string& index);
  Result<Binding> binding();
  Result<nlohmann::json> search_index(const std::string& index, const nlohmann::json& body);
  // One write: a new generation with `records` upserted and `remove_ids` deleted; fills `existed`.
  Result<UpsertResult> write_generation(const std::vector<ProductRecord>& records,
                                        const std::vector<std::string>& remove_ids,
                                        std::vector<std::string>* removed);
  // Copies every document of generation `from` into the new index `to` (_reindex, or search_after + _bulk
  // where the cluster has no reindex module).
  Status copy_generation(const std::string& from, const std::string& to);
  Status take_lock();
  void release_lock();
  Result<SearchResult> search_once(const std::vector<QueryObject>& objects, const SearchOptions& options,
                                   const Serving& target, int dimension);

  CatalogUri uri_;
  CatalogOpenOptions options_;
  LabelMapping mapping_;
  opensearch::HttpClient http_;
  std::mutex write_mutex_;
  std::mutex cache_mutex_;  // guards the two caches below
  Serving serving_cache_;
  std::chrono::steady_clock::time_point serving_checked_{};
  std::optional<Binding> binding_cache_;
};

}  // namespace visearch::search
