#include "search/sqlite_catalog.h"

#include "io/image_decode.h"

namespace visearch::search {

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::open(const std::string& data_dir,
                                                           const CatalogOpenOptions& options) {
  SearchServiceOptions service_options;
  service_options.data_dir = data_dir;
  service_options.mapping_path =
      options.mapping_path.empty() ? default_label_mapping_path() : options.mapping_path;
  service_options.index = options.index;
  service_options.hnsw = options.hnsw;
  service_options.create = options.create;
  service_options.serve_stale_while_rebuilding = options.serve_stale_while_rebuilding;
  auto service = SearchService::open(service_options);
  if (!service) return service.error();
  return std::make_unique<SqliteCatalog>(std::move(*service));
}

Status SqliteCatalog::bind_embedder(const std::string& embedder, int dimension, const std::string& detector) {
  return service_->store().bind_embedder(embedder, dimension, detector);
}

Result<ProductImage> SqliteCatalog::store_image(std::span<const std::uint8_t> bytes, ImageFormat format) {
  return service_->store().store_image(bytes, format);
}

Result<std::vector<std::uint8_t>> SqliteCatalog::image_bytes(const ProductImage& image) {
  // The path comes from the catalog (content-addressed, written by visearch), never from a request.
  auto bytes = read_file_bytes(service_->store().image_path(image), std::uint64_t{256} << 20U);
  if (!bytes) return Error{ErrorCode::kIo, "image file " + image.file + " is unreadable"};
  return bytes;
}

Result<std::optional<std::vector<IndexedObject>>> SqliteCatalog::indexed_objects_for(
    const std::string& sha256) {
  return service_->store().indexed_objects_for(sha256);
}

Result<UpsertResult> SqliteCatalog::upsert(const std::vector<ProductRecord>& records) {
  return service_->store().upsert(records);
}

Result<std::vector<std::string>> SqliteCatalog::remove(const std::vector<std::string>& ids) {
  return service_->store().remove(ids);
}

Result<std::optional<Product>> SqliteCatalog::get(const std::string& id) {
  return service_->store().get(id);
}

Result<ProductPage> SqliteCatalog::query(const ProductQuery& query) {
  return service_->store().query(query);
}

Result<CatalogStats> SqliteCatalog::stats() {
  return service_->store().stats();
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteCatalog::product_categories() {
  auto reader = service_->store().reader();
  if (!reader) return reader.error();
  return reader->product_categories();
}

Status SqliteCatalog::for_each_record(const std::function<Status(const ProductRecord&)>& visit) {
  auto reader = service_->store().reader();
  if (!reader) return reader.error();
  auto products = reader->product_categories();  // every id, in id order, within one snapshot
  if (!products) return products.error();
  for (const auto& entry : *products) {
    auto product = reader->get(entry.first);
    if (!product) return product.error();
    if (!product->has_value()) continue;
    auto objects = reader->objects_of(entry.first);
    if (!objects) return objects.error();
    VISEARCH_TRY(visit(ProductRecord{std::move(**product), std::move(*objects)}));
  }
  return ok_status();
}

Result<SearchResult> SqliteCatalog::search(const std::vector<QueryObject>& objects,
                                           const SearchOptions& options) {
  return service_->search(objects, options);
}

Result<std::size_t> SqliteCatalog::warm() {
  auto snapshot = service_->current_snapshot();
  if (!snapshot) return snapshot.error();
  return (*snapshot)->index ? (*snapshot)->index->size() : std::size_t{0};
}

Result<std::optional<EmbeddingAdaptation>> SqliteCatalog::adaptation() {
  auto loaded = EmbeddingAdaptation::load(service_->adaptation_path());
  if (!loaded) {
    if (loaded.error().code == ErrorCode::kNotFound) return std::optional<EmbeddingAdaptation>();
    return loaded.error();
  }
  return std::optional<EmbeddingAdaptation>(std::move(*loaded));
}

Status SqliteCatalog::store_adaptation(const EmbeddingAdaptation& adaptation) {
  // The next search notices the new file (SearchService compares the file's stamp) and rebuilds its index.
  return adaptation.save(service_->adaptation_path());
}

}  // namespace visearch::search
