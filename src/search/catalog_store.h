// CatalogStore: the product catalog in one SQLite database (WAL journal, FTS5 full-text index) plus a
// content-addressed folder of product images, both under one data directory:
//
//   <data_dir>/catalog.db            products, product_images, image_objects (embeddings), products_fts, meta
//   <data_dir>/images/ab/<sha256>.jpg the product images, named by their content's sha256
//
// Contract:
//  - upsert() and remove() are each one write transaction: a crash, a kill or an error part-way leaves the
//    catalog exactly as before (SQLite's WAL journal; image files are written, fsynced and renamed before
//    the transaction that references them, so a committed row never points at a missing or partial file).
//    Every committed write bumps the catalog generation, which readers use to notice changes made by any
//    process.
//  - Readers (Reader) see one consistent snapshot for their whole lifetime, unaffected by concurrent writes
//    from this or another process, and never block writers (WAL).
//  - Expected failures are Result errors: kNotFound (no catalog in the folder, unknown product),
//    kInvalidArgument (bad field, embedder mismatch), kUnavailable (database busy beyond the busy
//    timeout), kIo (disk, corrupt database).
//
// Thread-safety: every method may be called concurrently from any thread; each call leases its own
// connection from a small pool. A Reader is used by one thread at a time. Ownership: the store owns its
// connections; a Reader must not outlive its store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "io/image_decode.h"
#include "search/product.h"
#include "search/sqlite_db.h"

namespace visearch::search {

// A vector row as loaded for the index.
struct StoredVector {
  std::int64_t vector_id = 0;
  std::string product_id;
  int image_n = 0;
  std::string label;
  std::span<const float> embedding;  // valid only during the callback
  ColourProfile colour{};            // all 0 when unknown (indexed before colours were stored)
};

class CatalogStore;

// A read transaction: one consistent snapshot of the catalog.
class CatalogReader {
 public:
  ~CatalogReader();
  CatalogReader(CatalogReader&&) noexcept;
  CatalogReader& operator=(CatalogReader&&) = delete;
  CatalogReader(const CatalogReader&) = delete;
  CatalogReader& operator=(const CatalogReader&) = delete;

  [[nodiscard]] std::int64_t generation() const { return generation_; }
  Result<std::optional<Product>> get(const std::string& id);
  // The indexed objects of one product, all its images, in vector_id order.
  Result<std::vector<IndexedObject>> objects_of(const std::string& product_id);
  // Every stored vector, in vector_id order.
  Status for_each_vector(const std::function<void(const StoredVector&)>& visit);
  // Full-text match: product id and bm25 relevance (>0, larger is better), best first, at most `limit`.
  // `match` is an FTS5 query expression (see fts_any_phrase()).
  Result<std::vector<std::pair<std::string, double>>> full_text(const std::string& match, int limit);
  // Ids of products whose category is one of `categories` (case-insensitive), at most `limit`.
  Result<std::vector<std::string>> ids_in_categories(const std::vector<std::string>& categories, int limit);
  // (id, category) of every product, in id order.
  Result<std::vector<std::pair<std::string, std::string>>> product_categories();
  // (id, declared_colours() mask) of every product whose attributes name a colour, in id order.
  Result<std::vector<std::pair<std::string, std::uint16_t>>> declared_product_colours();
  // Ids of all products passing `filters` (any number).
  Result<std::vector<std::string>> ids_matching(const ProductFilters& filters);
  Result<ProductPage> query(const ProductQuery& query);
  Result<CatalogStats> stats();
  // Products per category and brand among those passing `filters`.
  Result<Facets> facets(const ProductFilters& filters);

 private:
  friend class CatalogStore;
  struct Impl;
  explicit CatalogReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::int64_t generation_ = 0;
};

class CatalogStore {
 public:
  static constexpr const char* kDatabaseFile = "catalog.db";

  // Opens the catalog in `data_dir`; with `create`, makes the folder and an empty catalog when absent.
  static Result<std::unique_ptr<CatalogStore>> open(const std::string& data_dir, bool create);
  ~CatalogStore();
  CatalogStore(const CatalogStore&) = delete;
  CatalogStore& operator=(const CatalogStore&) = delete;
  CatalogStore(CatalogStore&&) = delete;
  CatalogStore& operator=(CatalogStore&&) = delete;

  [[nodiscard]] const std::string& data_dir() const { return data_dir_; }

  // Stores encoded image bytes under images/ (atomically; nothing to do when that content is already
  // there) and fills file, sha256 and content_type. The caller fills n, width, height, source.
  Result<ProductImage> store_image(std::span<const std::uint8_t> bytes, ImageFormat format);
  // Absolute path of a stored image.
  [[nodiscard]] std::string image_path(const ProductImage& image) const;

  // Records (first import) or checks (later imports) the embedding model and dimension; vectors from
  // different models are not comparable, so a mismatch is kInvalidArgument.
  Status bind_embedder(const std::string& embedder, int dimension, const std::string& detector);

  // Inserts or replaces (by id) every record, images and vectors included, in one transaction.
  Result<UpsertResult> upsert(const std::vector<ProductRecord>& records);
  // Deletes the products with these ids in one transaction; returns the ids that existed.
  Result<std::vector<std::string>> remove(const std::vector<std::string>& ids);
  // The indexed objects of an already stored image with this content (to skip recomputing them), or
  // nullopt when no stored image has it.
  Result<std::optional<std::vector<IndexedObject>>> indexed_objects_for(const std::string& sha256);
  // Deletes image files no product references that are older than `min_age_s` seconds (files of an
  // import still running are younger). Returns the number removed.
  Result<int> collect_garbage(int min_age_s);

  Result<CatalogReader> reader();
  // Shorthands that open a reader for one call.
  Result<std::optional<Product>> get(const std::string& id);
  Result<ProductPage> query(const ProductQuery& query);
  Result<CatalogStats> stats();

 private:
  friend class CatalogReader;
  friend struct CatalogReader::Impl;
  CatalogStore(std::string data_dir, std::string db_path)
      : data_dir_(std::move(data_dir)), db_path_(std::move(db_path)) {}
  Result<std::unique_ptr<SqliteDb>> lease();
  void give_back(std::unique_ptr<SqliteDb> db);

  std::string data_dir_;
  std::string db_path_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<SqliteDb>> idle_;
  std::mutex write_mutex_;  // one in-process writer at a time (other processes: SQLite's lock + busy timeout)
};

// An FTS5 expression matching any of the phrases (each quoted, so user text cannot inject operators):
// {"cup", "coffee mug"} -> "cup" OR "coffee mug". Empty when no phrase has a word character.
std::string fts_any_phrase(const std::vector<std::string>& phrases);
// An FTS5 expression matching any of the first `max_words` words of free text: "in red" -> "in" OR "red".
std::string fts_any_word(const std::string& text, std::size_t max_words);
// An FTS5 expression requiring every word of free text, the last one as a prefix: "red mu" -> "red" "mu"*.
std::string fts_all_words(const std::string& text);

}  // namespace visearch::search
