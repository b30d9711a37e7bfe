#include "search/search_service.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <unordered_set>

#include <sys/stat.h>

namespace visearch::search {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kFullTextCandidates = 200;
constexpr std::size_t kCategoryCandidates = 2000;
constexpr std::size_t kMaxCachedFacets = 256;

struct Candidate {
  double visual = -1;  // < 0: not computed yet
  int image_n = 0;
  double text_raw = 0;
};

}  // namespace

Result<std::unique_ptr<SearchService>> SearchService::open(const SearchServiceOptions& options) {
  auto mapping = LabelMapping::load(options.mapping_path);
  if (!mapping) return mapping.error();
  auto store = CatalogStore::open(options.data_dir, options.create);
  if (!store) return store.error();
  auto service = open(std::move(*store), std::move(*mapping), options.index, options.hnsw);
  if (service) (*service)->serve_stale_while_rebuilding(options.serve_stale_while_rebuilding);
  return service;
}

Result<std::unique_ptr<SearchService>> SearchService::open(std::unique_ptr<CatalogStore> store,
                                                           LabelMapping mapping, IndexKind index,
                                                           HnswParams hnsw) {
  return std::unique_ptr<SearchService>(new SearchService(std::move(store), std::move(mapping), index, hnsw));
}

SearchService::~SearchService() {
  std::thread builder;
  {
    std::lock_guard lock(snapshot_mutex_);
    builder = std::move(builder_);
  }
  if (builder.joinable()) builder.join();
}

Result<std::shared_ptr<const IndexSnapshot>> SearchService::current_snapshot() {
  auto reader = store_->reader();
  if (!reader) return reader.error();
  return snapshot_for(*reader, Freshness::kExact);
}

bool SearchService::rebuilding() {
  std::lock_guard lock(snapshot_mutex_);
  return building_;
}

std::string SearchService::adaptation_stamp() const {
  struct stat st {};
  if (::stat(adaptation_path().c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
}

Result<std::shared_ptr<const IndexSnapshot>> SearchService::snapshot_for(CatalogReader& reader,
                                                                         Freshness freshness) {
  const std::string stamp = adaptation_stamp();
  const auto fresh = [&]() -> std::shared_ptr<const IndexSnapshot> {
    std::lock_guard lock(snapshot_mutex_);
    return current_ && is_current(*current_, reader.generation(), stamp) ? current_ : nullptr;
  };
  {
    std::lock_guard lock(snapshot_mutex_);
    if (current_ && is_current(*current_, reader.generation(), stamp)) return current_;
    if (freshness == Freshness::kStaleAllowed && stale_ok_ && current_ && !background_failed_) {
      // Older generation, or the same one with another adaptation file: rebuild in the background.
      if (!building_ && current_->generation <= reader.generation()) start_background_build();
      return current_;
    }
  }
  std::lock_guard build_lock(build_mutex_);
  if (auto snapshot = fresh()) return snapshot;
  auto built = build_snapshot(reader, stamp);
  if (built) {
    std::lock_guard lock(snapshot_mutex_);
    background_failed_ = false;
  }
  return built;
}

void SearchService::start_background_build() {
  building_ = true;
  // building_ was false, so a previous builder has left its last critical section: joining is quick.
  if (builder_.joinable()) builder_.join();
  builder_ = std::thread([this] {
    bool ok = false;
    {
      std::lock_guard build_lock(build_mutex_);
      auto reader = store_->reader();
      if (reader) {
        const std::string stamp = adaptation_stamp();
        bool current = false;
        {
          std::lock_guard lock(snapshot_mutex_);
          current = current_ && (current_->generation > reader->generation() ||
                                 is_current(*current_, reader->generation(), stamp));
        }
        ok = current || build_snapshot(*reader, stamp).has_value();
      }
    }
    std::lock_guard lock(snapshot_mutex_);
    building_ = false;
    background_failed_ = !ok;
  });
}

Result<std::shared_ptr<const IndexSnapshot>> SearchService::build_snapshot(CatalogReader& reader,
                                                                           const std::string& stamp) {
  auto built = std::make_shared<IndexSnapshot>();
  built->generation = reader.generation();
  built->adaptation_stamp = stamp;
  std::shared_ptr<const EmbeddingAdaptation> adaptation;
  if (!stamp.empty()) {
    // A stale, foreign or unreadable adaptation is not an error: search works in the embedder's space.
    auto loaded = EmbeddingAdaptation::load(adaptation_path());
    if (loaded && loaded->generation == built->generation) {
      auto stats = reader.stats();
      if (!stats) return stats.error();
      if (stats->embedder == loaded->embedder)
        adaptation = std::make_shared<const EmbeddingAdaptation>(std::move(*loaded));
    }
  }
  auto categories = reader.product_categories();
  if (!categories) return categories.error();
  for (auto& [id, category] : *categories) {
    const auto number = static_cast<std::uint32_t>(built->product_ids.size());
    built->product_number.emplace(id, number);
    built->product_ids.push_back(id);
    built->category_of.push_back(to_lower_ascii(category));
  }
  built->vectors_of.resize(built->product_ids.size());
  built->declared_colours_of.assign(built->product_ids.size(), 0);
  auto declared = reader.declared_product_colours();
  if (!declared) return declared.error();
  for (const auto& [id, mask] : *declared) {
    auto it = built->product_number.find(id);
    if (it != built->product_number.end()) built->declared_colours_of[it->second] = mask;
  }
  for (std::uint32_t number = 0; number < built->product_ids.size(); ++number) {
    built->products_in_category[built->category_of[number]].push_back(number);
  }
  std::unique_ptr<VectorIndexBuilder> builder;
  constexpr int kUnlooked = -2;
  std::vector<int> label_of_product(built->product_ids.size(), kUnlooked);
  Status dimension_ok = ok_status();
  auto visited = reader.for_each_vector([&](const StoredVector& v) {
    if (!dimension_ok) return;
    auto it = built->product_number.find(v.product_id);
    if (it == built->product_number.end() || v.embedding.empty()) return;
    if (!builder) {
      built->dimension = static_cast<int>(v.embedding.size());
      if (adaptation && adaptation->in_dim == built->dimension) built->adaptation = adaptation;
      builder = std::make_unique<VectorIndexBuilder>(
          index_kind_, built->adaptation ? built->adaptation->search_dim() : built->dimension, hnsw_);
    }
    if (v.embedding.size() != static_cast<std::size_t>(built->dimension)) {
      dimension_ok = Unexpected{ErrorCode::kIo, "catalog vector " + std::to_string(v.vector_id) + " has " +
                                                    std::to_string(v.embedding.size()) +
                                                    " values; expected " + std::to_string(built->dimension)};
      return;
    }
    const auto vector_id = static_cast<std::uint32_t>(builder->size());
    if (built->adaptation) {
      // A product's category index among the adaptation's labels, looked up once per product.
      int& label = label_of_product[it->second];
      if (label == kUnlooked) label = built->adaptation->label_index(built->category_of[it->second]);
      builder->add(
          built->adaptation->project(v.embedding, label, built->adaptation->attributes_of(v.product_id)));
    } else {
      builder->add(v.embedding);
    }
    built->product_of.push_back(it->second);
    built->image_of.push_back(v.image_n);
    built->colour_of.push_back(v.colour);
    built->vectors_of[it->second].push_back(vector_id);
  });
  if (!visited) return visited.error();
  if (!dimension_ok) return dimension_ok.error();
  if (builder) built->index = builder->build();

  std::shared_ptr<const IndexSnapshot> snapshot = std::move(built);
  std::lock_guard lock(snapshot_mutex_);
  if (!current_ || current_->generation < snapshot->generation ||
      (current_->generation == snapshot->generation &&
       current_->adaptation_stamp != snapshot->adaptation_stamp))
    current_ = snapshot;
  return snapshot;
}

Result<SearchService::QueryTextScores> SearchService::score_query_text(CatalogReader& reader,
                                                                       const IndexSnapshot& snapshot,
                                                                       const std::string& text) {
  QueryTextScores scores;
  const std::string match = fts_any_word(text, 16);
  if (match.empty()) return scores;
  auto hits = reader.full_text(match, kFullTextCandidates);
  if (!hits) return hits.error();
  for (const auto& [id, relevance] : *hits) {
    auto it = snapshot.product_number.find(id);
    if (it == snapshot.product_number.end()) continue;
    scores.raw[it->second] = relevance;
    scores.best = std::max(scores.best, relevance);
  }
  return scores;
}

Result<std::vector<ProductMatch>> SearchService::rank_object(
    CatalogReader& reader, const IndexSnapshot& snapshot, const QueryObject& object,
    const SearchOptions& options, const std::vector<std::uint32_t>* allowed, const QueryTextScores* words) {
  std::unordered_map<std::uint32_t, Candidate> candidates;
  const bool use_visual = options.ranking != Ranking::kLabel && !object.embedding.empty() && snapshot.index;
  const bool use_label = options.ranking != Ranking::kVisual && !object.label.empty();
  const std::span<const float> query(object.embedding);

  const auto score_visual = [&](std::uint32_t product, Candidate& c) {
    c.visual = 0;
    for (std::uint32_t v : snapshot.vectors_of[product]) {
      const double s = std::clamp(static_cast<double>(snapshot.index->similarity(query, v)), 0.0, 1.0);
      if (s > c.visual) {
        c.visual = s;
        c.image_n = snapshot.image_of[v];
      }
    }
  };

  if (use_visual) {
    if (allowed != nullptr) {
      for (std::uint32_t product : *allowed) score_visual(product, candidates[product]);
    } else {
      const std::size_t k = std::clamp<std::size_t>(static_cast<std::size_t>(options.limit) * 20, 200, 2000);
      for (const Neighbor& n : snapshot.index->search(query, k)) {
        Candidate& c = candidates[snapshot.product_of[n.id]];
        const double s = std::clamp(static_cast<double>(n.similarity), 0.0, 1.0);
        if (c.visual < s) {
          c.visual = s;
          c.image_n = snapshot.image_of[n.id];
        }
      }
    }
  }

  // The shopper's words: products with any of them become candidates, scored by normalised bm25.
  if (words != nullptr) {
    for (const auto& entry : words->raw) candidates[entry.first];
  }

  LabelTerms terms;
  double best_text = 0;
  std::unordered_set<std::string> label_categories;
  if (use_label) {
    terms = mapping_.terms(object.label);
    for (const std::string& c : terms.categories) label_categories.insert(to_lower_ascii(c));
    auto hits = reader.full_text(fts_any_phrase(terms.keywords), kFullTextCandidates);
    if (!hits) return hits.error();
    for (const auto& [id, relevance] : *hits) {
      auto it = snapshot.product_number.find(id);
      if (it == snapshot.product_number.end()) continue;
      candidates[it->second].text_raw = relevance;
      best_text = std::max(best_text, relevance);
    }
    for (const std::string& category : label_categories) {
      auto it = snapshot.products_in_category.find(category);
      if (it == snapshot.products_in_category.end()) continue;
      const std::size_t n = std::min(it->second.size(), kCategoryCandidates);
      for (std::size_t i = 0; i < n; ++i) candidates[it->second[i]];
    }
  }

  std::unordered_set<std::uint32_t> allowed_set;
  if (allowed != nullptr) allowed_set.insert(allowed->begin(), allowed->end());
  const bool use_colour = options.ranking == Ranking::kFused && has_colour(object.colour);
  std::vector<ColourProfile> product_colours;
  std::vector<FusionCandidate> pool;
  std::vector<std::uint32_t> product_of_candidate;
  pool.reserve(candidates.size());
  for (auto& [product, c] : candidates) {
    if (allowed != nullptr && allowed_set.count(product) == 0) continue;
    if (use_visual && c.visual < 0) score_visual(product, c);
    FusionCandidate f;
    f.id = snapshot.product_ids[product];
    f.visual = std::max(c.visual, 0.0);
    f.image_n = std::max(c.image_n, 0);
    f.in_label_category = use_label && label_categories.count(snapshot.category_of[product]) != 0;
    f.text_raw = c.text_raw;
    if (use_colour) {
      product_colours.clear();
      for (std::uint32_t v : snapshot.vectors_of[product]) product_colours.push_back(snapshot.colour_of[v]);
      f.colour = colour_agreement(object.colour, product_colours, snapshot.declared_colours_of[product]);
    }
    if (words != nullptr) {
      auto q = words->raw.find(product);
      if (q != words->raw.end()) f.query_raw = q->second;
    }
    pool.push_back(std::move(f));
    product_of_candidate.push_back(product);
  }
  FusionParams params;
  params.ranking = options.ranking;
  params.use_visual = use_visual;
  params.use_label = use_label;
  params.use_query = options.ranking == Ranking::kFused && words != nullptr;
  params.use_colour = use_colour;
  params.best_text = best_text;
  params.best_query = words != nullptr ? words->best : 0.0;
  params.weights = mapping_.weights();
  // The visual ranking's threshold is a cosine: in an adapted space, the adaptation's own (see adaptation.h).
  const bool adapted_visual = options.ranking == Ranking::kVisual && snapshot.adaptation &&
                              snapshot.adaptation->visual_min_score >= 0;
  params.min_score = options.min_score.value_or(
      adapted_visual ? snapshot.adaptation->visual_min_score
                     : mapping_.min_score(std::string(ranking_name(options.ranking))));
  params.limit = options.limit;
  if (options.candidate_sink) options.candidate_sink(object, pool, params);
  const std::vector<FusedCandidate> scored = fuse(pool, params);

  std::vector<ProductMatch> matches;
  for (const FusedCandidate& s : scored) {
    auto product = reader.get(pool[s.candidate].id);
    if (!product) return product.error();
    if (!product->has_value()) continue;  // cannot happen within one snapshot; tolerated anyway
    matches.push_back(ProductMatch{std::move(**product), s.score, s.components, pool[s.candidate].image_n});
  }
  return matches;
}

Result<Facets> SearchService::facets_for(CatalogReader& reader, const ProductFilters& filters) {
  // Counting is a scan of the products passing the filters: cached per catalog generation (most searches
  // repeat a few filter sets, the unfiltered one above all), so a search does not pay for it every time.
  std::string key = filters.category + '\x1f' +
                    (filters.min_price ? std::to_string(*filters.min_price) : "") + '\x1f' +
                    (filters.max_price ? std::to_string(*filters.max_price) : "");
  for (const auto& [k, v] : filters.attributes) key += '\x1f' + k + '=' + v;
  {
    std::lock_guard lock(facets_mutex_);
    if (facets_generation_ == reader.generation()) {
      auto it = facets_cache_.find(key);
      if (it != facets_cache_.end()) return it->second;
    }
  }
  auto counted = reader.facets(filters);
  if (!counted) return counted.error();
  std::lock_guard lock(facets_mutex_);
  if (facets_generation_ != reader.generation()) {
    facets_cache_.clear();
    facets_generation_ = reader.generation();
  }
  if (facets_cache_.size() < kMaxCachedFacets) facets_cache_.emplace(std::move(key), *counted);
  return counted;
}

Result<SearchResult> SearchService::search(const std::vector<QueryObject>& objects,
                                           const SearchOptions& options) {
  const auto start = Clock::now();
  if (options.limit < 1 || options.limit > 100)
    return Unexpected{ErrorCode::kInvalidArgument, "limit must be in 1..100"};
  auto reader = store_->reader();
  if (!reader) return reader.error();
  auto snapshot = snapshot_for(*reader, Freshness::kStaleAllowed);
  if (!snapshot) return snapshot.error();
  const IndexSnapshot& snap = **snapshot;
  for (const QueryObject& object : objects) {
    if (!object.embedding.empty() && snap.index &&
        object.embedding.size() != static_cast<std::size_t>(snap.dimension)) {
      return Unexpected{ErrorCode::kInvalidArgument,
                        "the query embedding has " + std::to_string(object.embedding.size()) +
                            " values but the catalog's embeddings have " + std::to_string(snap.dimension) +
                            "; search with the model the catalog was indexed with"};
    }
  }
  std::vector<std::uint32_t> allowed;
  const bool filtered = !options.filters.empty();
  if (filtered) {
    auto ids = reader->ids_matching(options.filters);
    if (!ids) return ids.error();
    for (const std::string& id : *ids) {
      auto it = snap.product_number.find(id);
      if (it != snap.product_number.end()) allowed.push_back(it->second);
    }
  }
  SearchResult result;
  result.generation = snap.generation;
  result.adapted = snap.adaptation != nullptr;
  result.stale = snap.generation != reader->generation();
  result.index_kind = snap.index ? snap.index->kind() : IndexKind::kExact;
  result.vectors = snap.index ? snap.index->size() : 0;
  auto facets = facets_for(*reader, options.filters);
  if (!facets) return facets.error();
  result.facets = std::move(*facets);
  std::optional<QueryTextScores> query;
  if (options.ranking == Ranking::kFused && !options.query_text.empty()) {
    auto scores = score_query_text(*reader, snap, options.query_text);
    if (!scores) return scores.error();
    query = std::move(*scores);
  }
  for (const QueryObject& object : objects) {
    QueryObject projected;  // the object itself (label, score, box, colour) with its projected embedding
    if (snap.adaptation && !object.embedding.empty()) {
      projected = object;
      projected.embedding = snap.adaptation->project(object.embedding);
    }
    const QueryObject& ranked = projected.embedding.empty() ? object : projected;
    auto matches =
        rank_object(*reader, snap, ranked, options, filtered ? &allowed : nullptr, query ? &*query : nullptr);
    if (!matches) return matches.error();
    ObjectMatches out{object, std::move(*matches)};
    out.object.embedding.clear();
    result.objects.push_back(std::move(out));
  }
  result.rank_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return result;
}

}  // namespace visearch::search
