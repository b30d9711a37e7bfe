// SqliteCatalog: the embedded catalog engine (`sqlite:DIR`, the default): CatalogStore (SQLite + FTS5 +
// content-addressed image files) ranked by SearchService (in-process exact or HNSW vector index).
// A thin adapter: the contracts are those of CatalogStore and SearchService.
#pragma once

#include <memory>
#include <string>

#include "search/catalog.h"
#include "search/search_service.h"

namespace visearch::search {

class SqliteCatalog final : public Catalog {
 public:
  static Result<std::unique_ptr<SqliteCatalog>> open(const std::string& data_dir,
                                                     const CatalogOpenOptions& options);
  explicit SqliteCatalog(std::unique_ptr<SearchService> service) : service_(std::move(service)) {}

  [[nodiscard]] std::string location() const override { return "sqlite:" + service_->store().data_dir(); }
  [[nodiscard]] std::string engine() const override { return "sqlite"; }
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
  Status check_available() override { return ok_status(); }
  [[nodiscard]] const LabelMapping& mapping() const override { return service_->mapping(); }
  Result<std::optional<EmbeddingAdaptation>> adaptation() override;
  Status store_adaptation(const EmbeddingAdaptation& adaptation) override;

  [[nodiscard]] SearchService& service() { return *service_; }

 private:
  std::unique_ptr<SearchService> service_;
};

}  // namespace visearch::search
