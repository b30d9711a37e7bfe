// SearchService: ranks catalog products for the objects found in a shopper's photo. Transport-free: the
// CLI (`visearch search`) and the HTTP server (POST /v1/search) both call it with the same QueryObjects
// (from analyze_query_image()) and get the same ranking.
//
// For each query object, candidates come from two sides and are scored on both:
//   visual  cosine similarity of the object's crop embedding with product-image embeddings (the best
//           image of each product), through the VectorIndex (exact or HNSW);
//   label   the detected label mapped (LabelMapping) to categories and keywords: `category` = 1 when the
//           product's category is one the label maps to, `text` = FTS5 bm25 of the keywords over the
//           product text, divided by the best bm25 for that query (so in [0, 1]);
//           label = 0.6 * category + 0.4 * text.
//   fused   score = w_visual * visual + w_label * label (weights from the mapping file, default 0.5/0.5).
// Rankings kVisual and kLabel use one side only (the benchmark compares all three).
// Filters (category, price range, attributes) restrict every ranking; a filtered visual search scores
// all vectors of the products that pass, so filters never starve the result list.
//
// Adaptation: when the catalog folder holds an adaptation (`visearch catalog adapt`) trained on the
// catalog's current generation, the index is built over adapted vectors and queries are projected the
// same way; a stale one (older generation, other embedder) is ignored. A new or rewritten adaptation file
// is noticed by the next search, as a generation change is.
// Consistency: one search reads one catalog snapshot (a read transaction). The vector index is rebuilt
// from that snapshot when the catalog generation moved (an import or delete committed by any process),
// so results never mix two catalog states and searches keep being answered while an import runs.
// With serve_stale_while_rebuilding (the server's setting), a search that finds the generation moved is
// answered at once from the previous index while one background thread builds the new one: products
// added since appear when it is ready, deleted ones are left out, and `generation` in the result is the
// index's. Without it (the CLI, tests), the search builds the new index first.
// Failure modes: kInvalidArgument (embedding dimension differs from the catalog's), kUnavailable / kIo
// from the catalog. Thread-safety: search() may be called concurrently; index rebuilds are serialised.
// Ownership: owns the CatalogStore and the current index snapshot (shared with searches in flight).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "search/adaptation.h"
#include "search/catalog_store.h"
#include "search/label_mapping.h"
#include "search/object_analysis.h"
#include "search/ranking.h"
#include "search/vector_index.h"

namespace visearch::search {

struct SearchServiceOptions {
  std::string data_dir;
  std::string mapping_path;  // label mapping JSON
  IndexKind index = IndexKind::kAuto;
  HnswParams hnsw;
  bool create = true;                         // create an empty catalog when the folder has none
  bool serve_stale_while_rebuilding = false;  // see "Consistency" above
};

// The snapshot of the catalog's vectors an index was built from.
struct IndexSnapshot {
  std::int64_t generation = -1;
  std::unique_ptr<VectorIndex> index;
  std::vector<std::uint32_t> product_of;  // vector id -> product number
  std::vector<int> image_of;              // vector id -> product image n
  std::vector<ColourProfile> colour_of;   // vector id -> the object's colour profile (all 0: unknown)
  std::vector<std::string> product_ids;   // product number -> id
  std::vector<std::string> category_of;   // product number -> lower-case category
  std::vector<std::uint16_t> declared_colours_of;  // product number -> declared_colours() mask
  std::unordered_map<std::string, std::uint32_t> product_number;
  std::vector<std::vector<std::uint32_t>> vectors_of;  // product number -> vector ids
  std::unordered_map<std::string, std::vector<std::uint32_t>> products_in_category;  // lower-case category
  int dimension = 0;  // of the embedder's vectors (queries come in it)
  // The catalog's adaptation when it is fresh for this generation: the index then holds projected vectors
  // and queries are projected before searching (search/adaptation.h). Null: the embedder's space.
  std::shared_ptr<const EmbeddingAdaptation> adaptation;
  std::string adaptation_stamp;  // of the adaptation file seen when built ("" = none)
};

class SearchService {
 public:
  static Result<std::unique_ptr<SearchService>> open(const SearchServiceOptions& options);
  static Result<std::unique_ptr<SearchService>> open(std::unique_ptr<CatalogStore> store,
                                                     LabelMapping mapping, IndexKind index,
                                                     HnswParams hnsw = {});

  ~SearchService();
  SearchService(const SearchService&) = delete;
  SearchService& operator=(const SearchService&) = delete;
  SearchService(SearchService&&) = delete;
  SearchService& operator=(SearchService&&) = delete;

  [[nodiscard]] CatalogStore& store() { return *store_; }
  void serve_stale_while_rebuilding(bool on) { stale_ok_ = on; }
  [[nodiscard]] const LabelMapping& mapping() const { return mapping_; }
  // Where the catalog's adaptation file is (search/adaptation.h).
  [[nodiscard]] std::string adaptation_path() const {
    return store_->data_dir() + "/" + EmbeddingAdaptation::kFileName;
  }

  Result<SearchResult> search(const std::vector<QueryObject>& objects, const SearchOptions& options);

  // The index snapshot for the catalog's current generation (built when needed, never stale).
  Result<std::shared_ptr<const IndexSnapshot>> current_snapshot();
  // True while a background rebuild runs (serve_stale_while_rebuilding).
  [[nodiscard]] bool rebuilding();

 private:
  SearchService(std::unique_ptr<CatalogStore> store, LabelMapping mapping, IndexKind index, HnswParams hnsw)
      : store_(std::move(store)), mapping_(std::move(mapping)), index_kind_(index), hnsw_(hnsw) {}
  enum class Freshness { kExact, kStaleAllowed };
  // Identifies the adaptation file's current content (size, mtime, inode); "" when there is none.
  [[nodiscard]] std::string adaptation_stamp() const;
  // True when `snapshot` was built for this generation and adaptation file.
  static bool is_current(const IndexSnapshot& snapshot, std::int64_t generation, const std::string& stamp) {
    return snapshot.generation == generation && snapshot.adaptation_stamp == stamp;
  }
  Result<std::shared_ptr<const IndexSnapshot>> snapshot_for(CatalogReader& reader, Freshness freshness);
  // Builds the snapshot of `reader`'s generation and makes it current when newer; build_mutex_ held.
  Result<std::shared_ptr<const IndexSnapshot>> build_snapshot(CatalogReader& reader,
                                                              const std::string& stamp);
  void start_background_build();  // snapshot_mutex_ held
  // The shopper's words (SearchOptions::query_text) matched once per search: bm25 by product number.
  struct QueryTextScores {
    std::unordered_map<std::uint32_t, double> raw;
    double best = 0;
  };
  Result<QueryTextScores> score_query_text(CatalogReader& reader, const IndexSnapshot& snapshot,
                                           const std::string& text);
  // `words`: the shopper's words' scores, or null when the ranking does not use them.
  Result<std::vector<ProductMatch>> rank_object(CatalogReader& reader, const IndexSnapshot& snapshot,
                                                const QueryObject& object, const SearchOptions& options,
                                                const std::vector<std::uint32_t>* allowed,
                                                const QueryTextScores* words);

  // Facet counts of `filters` in the reader's generation, cached per generation.
  Result<Facets> facets_for(CatalogReader& reader, const ProductFilters& filters);

  std::unique_ptr<CatalogStore> store_;
  LabelMapping mapping_;
  std::mutex facets_mutex_;  // guards the two below
  std::int64_t facets_generation_ = -1;
  std::unordered_map<std::string, Facets> facets_cache_;
  IndexKind index_kind_;
  HnswParams hnsw_;
  std::mutex snapshot_mutex_;  // guards current_, building_, background_failed_, builder_
  std::mutex build_mutex_;     // one rebuild at a time
  std::shared_ptr<const IndexSnapshot> current_;
  bool stale_ok_ = false;
  bool building_ = false;           // a background build is running
  bool background_failed_ = false;  // the last one failed: the next search builds (and reports) itself
  std::thread builder_;
};

}  // namespace visearch::search
