// VectorIndex: nearest neighbours by inner product over L2-normalised vectors (so similarity = cosine, in
// [-1, 1]). One interface, two implementations:
//   exact  brute force over a contiguous matrix; every answer is exact; O(n * d) per query. The default
//          for small catalogs.
//   hnsw   hnswlib's HNSW graph (libhnswlib-dev); approximate, sub-linear per query; for large catalogs.
//
//   VectorIndexBuilder builder(IndexKind::kAuto, 1280);
//   builder.add(vector);                                  // ids are 0, 1, 2, ... in add() order
//   std::unique_ptr<VectorIndex> index = builder.build();
//   auto hits = index->search(query, 10);                 // best first
//
// Contract: search() returns at most k neighbours, best (highest similarity) first, ties by lower id.
// similarity() is exact in both implementations. Queries must have the index's dimension
// (VISEARCH_ASSERT: callers check dimensions at their boundary).
// Thread-safety: an index is immutable once built; search() and similarity() may run concurrently.
// Ownership: the index owns its vectors (a copy of what was added).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace visearch::search {

enum class IndexKind { kAuto, kExact, kHnsw };

Result<IndexKind> parse_index_kind(std::string_view text);  // "auto", "exact", "hnsw"
std::string_view index_kind_name(IndexKind kind);

struct Neighbor {
  std::uint32_t id = 0;
  float similarity = 0.F;
};

struct HnswParams {
  std::size_t m = 16;                 // graph degree
  std::size_t ef_construction = 200;  // build-time beam width
  std::size_t ef_search = 128;        // query-time beam width (raised to k when smaller)
  int build_threads = 0;              // 0 = hardware concurrency
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  VectorIndex() = default;
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;
  VectorIndex(VectorIndex&&) = delete;
  VectorIndex& operator=(VectorIndex&&) = delete;

  [[nodiscard]] virtual IndexKind kind() const = 0;
  [[nodiscard]] virtual std::size_t size() const = 0;
  [[nodiscard]] virtual int dimension() const = 0;
  [[nodiscard]] virtual std::vector<Neighbor> search(std::span<const float> query, std::size_t k) const = 0;
  [[nodiscard]] virtual float similarity(std::span<const float> query, std::uint32_t id) const = 0;
  // Bytes held by the index structures (vectors, graph, bookkeeping).
  [[nodiscard]] virtual std::size_t memory_bytes() const = 0;
};

// Catalogs with fewer vectors than this use the exact index under IndexKind::kAuto.
inline constexpr std::size_t kAutoHnswThreshold = 20000;

class VectorIndexBuilder {
 public:
  VectorIndexBuilder(IndexKind kind, int dimension, HnswParams params = {});
  // Appends one vector (must have `dimension` floats); its id is the number of vectors added before it.
  void add(std::span<const float> vector);
  [[nodiscard]] std::size_t size() const { return count_; }
  // Builds the index; the builder is left empty.
  std::unique_ptr<VectorIndex> build();

 private:
  IndexKind kind_;
  int dimension_;
  HnswParams params_;
  std::vector<float> data_;
  std::size_t count_ = 0;
};

std::unique_ptr<VectorIndex> make_exact_index(int dimension, std::vector<float> data);
std::unique_ptr<VectorIndex> make_hnsw_index(int dimension, std::vector<float> data,
                                             const HnswParams& params);

// Inner product of two equal-length vectors (unrolled; the exact index's kernel).
float dot(const float* a, const float* b, std::size_t n);

}  // namespace visearch::search
