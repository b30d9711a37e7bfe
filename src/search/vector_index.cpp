#include "search/vector_index.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace visearch::search {
namespace {

bool better(const Neighbor& a, const Neighbor& b) {
  return a.similarity != b.similarity ? a.similarity > b.similarity : a.id < b.id;
}

class ExactIndex final : public VectorIndex {
 public:
  ExactIndex(int dimension, std::vector<float> data)
      : dimension_(dimension),
        data_(std::move(data)),
        count_(data_.size() / static_cast<std::size_t>(dimension)) {}

  [[nodiscard]] IndexKind kind() const override { return IndexKind::kExact; }
  [[nodiscard]] std::size_t size() const override { return count_; }
  [[nodiscard]] int dimension() const override { return dimension_; }
  [[nodiscard]] std::size_t memory_bytes() const override {
    return data_.capacity() * sizeof(float) + sizeof(*this);
  }

  [[nodiscard]] std::vector<Neighbor> search(std::span<const float> query, std::size_t k) const override {
    VISEARCH_ASSERT(query.size() == static_cast<std::size_t>(dimension_),
                    "query dimension differs from the index");
    std::vector<Neighbor> all(count_);
    const auto d = static_cast<std::size_t>(dimension_);
    for (std::size_t i = 0; i < count_; ++i) {
      all[i] = Neighbor{static_cast<std::uint32_t>(i), dot(query.data(), data_.data() + i * d, d)};
    }
    k = std::min(k, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), better);
    all.resize(k);
    return all;
  }

  [[nodiscard]] float similarity(std::span<const float> query, std::uint32_t id) const override {
    VISEARCH_ASSERT(id < count_, "vector id out of range");
    const auto d = static_cast<std::size_t>(dimension_);
    return dot(query.data(), data_.data() + id * d, d);
  }

 private:
  int dimension_;
  std::vector<float> data_;
  std::size_t count_;
};

class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(int dimension, std::vector<float> data, const HnswParams& params)
      : dimension_(dimension),
        count_(data.size() / static_cast<std::size_t>(dimension)),
        space_(static_cast<std::size_t>(dimension)),
        graph_(&space_, std::max<std::size_t>(count_, 1), params.m, params.ef_construction),
        ef_search_(params.ef_search) {
    const auto d = static_cast<std::size_t>(dimension);
    // The first point alone, then the rest in parallel (hnswlib's addPoint is thread-safe).
    if (count_ > 0) graph_.addPoint(data.data(), 0);
    const unsigned threads = params.build_threads > 0 ? static_cast<unsigned>(params.build_threads)
                                                      : std::max(1U, std::thread::hardware_concurrency());
    std::atomic<std::size_t> next{1};
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (std::size_t i = next++; i < count_; i = next++) graph_.addPoint(data.data() + i * d, i);
      });
    }
    for (std::thread& w : workers) w.join();
    graph_.setEf(ef_search_);
  }

  [[nodiscard]] IndexKind kind() const override { return IndexKind::kHnsw; }
  [[nodiscard]] std::size_t size() const override { return count_; }
  [[nodiscard]] int dimension() const override { return dimension_; }

  [[nodiscard]] std::size_t memory_bytes() const override {
    // Level 0 holds every vector with its links; upper levels hold links only (~1/M of the points).
    const std::size_t level0 = graph_.max_elements_ * graph_.size_data_per_element_;
    std::size_t upper = 0;
    for (std::size_t i = 0; i < graph_.cur_element_count; ++i) {
      upper += static_cast<std::size_t>(graph_.element_levels_[i]) * graph_.size_links_per_element_;
    }
    return level0 + upper + graph_.max_elements_ * (sizeof(void*) + sizeof(int) + 2 * sizeof(std::size_t)) +
           sizeof(*this);
  }

  [[nodiscard]] std::vector<Neighbor> search(std::span<const float> query, std::size_t k) const override {
    VISEARCH_ASSERT(query.size() == static_cast<std::size_t>(dimension_),
                    "query dimension differs from the index");
    std::vector<Neighbor> out;
    if (count_ == 0 || k == 0) return out;
    k = std::min(k, count_);
    // hnswlib 0.6 reads ef from the graph (max(ef_, k)); ef_ is fixed at build time, so only k varies here.
    auto heap = graph_.searchKnn(query.data(), k);
    out.reserve(heap.size());
    while (!heap.empty()) {
      // InnerProductSpace distance = 1 - <a, b>.
      out.push_back(Neighbor{static_cast<std::uint32_t>(heap.top().second), 1.F - heap.top().first});
      heap.pop();
    }
    std::sort(out.begin(), out.end(), better);
    return out;
  }

  [[nodiscard]] float similarity(std::span<const float> query, std::uint32_t id) const override {
    VISEARCH_ASSERT(id < count_, "vector id out of range");
    const auto* stored =
        reinterpret_cast<const float*>(graph_.getDataByInternalId(label_to_internal_[id]));  // NOLINT
    return dot(query.data(), stored, static_cast<std::size_t>(dimension_));
  }

  void index_labels() {
    label_to_internal_.assign(count_, 0);
    for (std::size_t internal = 0; internal < graph_.cur_element_count; ++internal) {
      label_to_internal_[graph_.getExternalLabel(static_cast<hnswlib::tableint>(internal))] =
          static_cast<hnswlib::tableint>(internal);
    }
  }

 private:
  int dimension_;
  std::size_t count_;
  hnswlib::InnerProductSpace space_;
  mutable hnswlib::HierarchicalNSW<float> graph_;
  std::size_t ef_search_;
  std::vector<hnswlib::tableint> label_to_internal_;
};

}  // namespace

Result<IndexKind> parse_index_kind(std::string_view text) {
  if (text == "auto") return IndexKind::kAuto;
  if (text == "exact") return IndexKind::kExact;
  if (text == "hnsw") return IndexKind::kHnsw;
  return Unexpected{ErrorCode::kInvalidArgument,
                    "index kind must be auto, exact or hnsw (got '" + std::string(text) + "')"};
}

std::string_view index_kind_name(IndexKind kind) {
  switch (kind) {
    case IndexKind::kAuto:
      return "auto";
    case IndexKind::kExact:
      return "exact";
    case IndexKind::kHnsw:
      return "hnsw";
  }
  return "auto";
}

float dot(const float* a, const float* b, std::size_t n) {
  // Eight independent accumulators let the compiler vectorise without reassociating one sum.
  float acc[8] = {0.F, 0.F, 0.F, 0.F, 0.F, 0.F, 0.F, 0.F};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (std::size_t j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

std::unique_ptr<VectorIndex> make_exact_index(int dimension, std::vector<float> data) {
  return std::make_unique<ExactIndex>(dimension, std::move(data));
}

std::unique_ptr<VectorIndex> make_hnsw_index(int dimension, std::vector<float> data,
                                             const HnswParams& params) {
  auto index = std::make_unique<HnswIndex>(dimension, std::move(data), params);
  index->index_labels();
  return index;
}

VectorIndexBuilder::VectorIndexBuilder(IndexKind kind, int dimension, HnswParams params)
    : kind_(kind), dimension_(dimension), params_(params) {
  VISEARCH_ASSERT(dimension > 0, "index dimension must be positive");
}

void VectorIndexBuilder::add(std::span<const float> vector) {
  VISEARCH_ASSERT(vector.size() == static_cast<std::size_t>(dimension_),
                  "vector dimension differs from the index");
  data_.insert(data_.end(), vector.begin(), vector.end());
  ++count_;
}

std::unique_ptr<VectorIndex> VectorIndexBuilder::build() {
  IndexKind kind = kind_;
  if (kind == IndexKind::kAuto) kind = count_ >= kAutoHnswThreshold ? IndexKind::kHnsw : IndexKind::kExact;
  std::vector<float> data = std::move(data_);
  data.shrink_to_fit();
  data_ = {};
  count_ = 0;
  if (kind == IndexKind::kHnsw) return make_hnsw_index(dimension_, std::move(data), params_);
  return make_exact_index(dimension_, std::move(data));
}

}  // namespace visearch::search
