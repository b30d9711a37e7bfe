// Exact and HNSW indexes behind one interface: exactness of brute force, HNSW recall on clustered data,
// ordering and tie rules, similarity(), the auto choice.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "search/vector_index.h"

namespace visearch::search {
namespace {

std::vector<float> random_unit(std::mt19937& rng, int dim, const std::vector<float>* centre = nullptr,
                               float noise = 1.F) {
  std::normal_distribution<float> normal(0.F, 1.F);
  std::vector<float> v(static_cast<std::size_t>(dim));
  float norm = 0;
  for (int i = 0; i < dim; ++i) {
    v[static_cast<std::size_t>(i)] =
        (centre != nullptr ? (*centre)[static_cast<std::size_t>(i)] : 0.F) + noise * normal(rng);
    norm += v[static_cast<std::size_t>(i)] * v[static_cast<std::size_t>(i)];
  }
  for (float& x : v) x /= std::sqrt(norm);
  return v;
}

TEST(VectorIndex, ExactFindsTheTrueNearestInOrder) {
  std::mt19937 rng(1);
  constexpr int kDim = 16;
  std::vector<std::vector<float>> data;
  VectorIndexBuilder builder(IndexKind::kExact, kDim);
  for (int i = 0; i < 300; ++i) {
    data.push_back(random_unit(rng, kDim));
    builder.add(data.back());
  }
  auto index = builder.build();
  EXPECT_EQ(index->kind(), IndexKind::kExact);
  EXPECT_EQ(index->size(), 300U);
  const std::vector<float> q = random_unit(rng, kDim);
  std::vector<std::pair<float, std::uint32_t>> truth;
  for (std::uint32_t i = 0; i < data.size(); ++i) truth.emplace_back(dot(q.data(), data[i].data(), kDim), i);
  std::sort(truth.begin(), truth.end(), [](auto a, auto b) { return a.first > b.first; });
  const auto hits = index->search(q, 10);
  ASSERT_EQ(hits.size(), 10U);
  for (std::size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(hits[i].id, truth[i].second);
    EXPECT_FLOAT_EQ(hits[i].similarity, truth[i].first);
    EXPECT_FLOAT_EQ(index->similarity(q, hits[i].id), truth[i].first);
  }
  EXPECT_EQ(index->search(q, 1000).size(), 300U);
}

TEST(VectorIndex, TiesGoToTheLowerId) {
  VectorIndexBuilder builder(IndexKind::kExact, 2);
  for (int i = 0; i < 5; ++i) builder.add(std::vector<float>{1.F, 0.F});
  auto index = builder.build();
  const auto hits = index->search(std::vector<float>{1.F, 0.F}, 3);
  ASSERT_EQ(hits.size(), 3U);
  EXPECT_EQ(hits[0].id, 0U);
  EXPECT_EQ(hits[1].id, 1U);
  EXPECT_EQ(hits[2].id, 2U);
}

TEST(VectorIndex, HnswRecallOnClusteredVectors) {
  std::mt19937 rng(7);
  constexpr int kDim = 64;
  std::vector<std::vector<float>> centres;
  for (int c = 0; c < 40; ++c) centres.push_back(random_unit(rng, kDim));
  VectorIndexBuilder exact_builder(IndexKind::kExact, kDim);
  HnswParams params;
  params.ef_search = 64;
  VectorIndexBuilder hnsw_builder(IndexKind::kHnsw, kDim, params);
  for (int i = 0; i < 4000; ++i) {
    const auto v = random_unit(rng, kDim, &centres[static_cast<std::size_t>(i % 40)], 0.08F);
    exact_builder.add(v);
    hnsw_builder.add(v);
  }
  auto exact = exact_builder.build();
  auto hnsw = hnsw_builder.build();
  EXPECT_EQ(hnsw->kind(), IndexKind::kHnsw);
  EXPECT_EQ(hnsw->size(), 4000U);
  EXPECT_GT(hnsw->memory_bytes(), 4000U * kDim * sizeof(float));
  double found = 0;
  constexpr int kQueries = 100;
  for (int q = 0; q < kQueries; ++q) {
    const auto query = random_unit(rng, kDim, &centres[static_cast<std::size_t>(q % 40)], 0.08F);
    std::set<std::uint32_t> truth;
    for (const Neighbor& n : exact->search(query, 10)) truth.insert(n.id);
    const auto approx = hnsw->search(query, 10);
    ASSERT_EQ(approx.size(), 10U);
    EXPECT_TRUE(std::is_sorted(approx.begin(), approx.end(), [](const Neighbor& a, const Neighbor& b) {
      return a.similarity > b.similarity;
    }));
    for (const Neighbor& n : approx) {
      found += static_cast<double>(truth.count(n.id));
      EXPECT_NEAR(n.similarity, exact->similarity(query, n.id), 1e-5);
      EXPECT_NEAR(hnsw->similarity(query, n.id), exact->similarity(query, n.id), 1e-5);
    }
  }
  EXPECT_GE(found / (kQueries * 10), 0.95);
}

// The HNSW graph is built by several threads at once (HnswIndex): every point must still be in it and be
// found as its own nearest neighbour. Small enough for the ThreadSanitizer run, which checks the parallel
// build here (the recall test above is left out of that run: TSan's lock-order tracking over its 4000
// per-point hnswlib mutexes takes minutes).
TEST(VectorIndex, ParallelHnswBuildKeepsEveryPoint) {
  std::mt19937 rng(11);
  constexpr int kDim = 16;
  constexpr std::uint32_t kPoints = 400;
  HnswParams params;
  params.build_threads = 4;
  VectorIndexBuilder builder(IndexKind::kHnsw, kDim, params);
  std::vector<std::vector<float>> points;
  for (std::uint32_t i = 0; i < kPoints; ++i) {
    points.push_back(random_unit(rng, kDim));
    builder.add(points.back());
  }
  auto index = builder.build();
  ASSERT_EQ(index->kind(), IndexKind::kHnsw);
  ASSERT_EQ(index->size(), kPoints);
  for (std::uint32_t i = 0; i < kPoints; ++i) {
    const auto found = index->search(points[i], 1);
    ASSERT_EQ(found.size(), 1U);
    EXPECT_EQ(found[0].id, i);
    EXPECT_NEAR(found[0].similarity, 1.F, 1e-5F);
  }
}

TEST(VectorIndex, AutoPicksExactForSmallCatalogsAndEmptyIsFine) {
  VectorIndexBuilder builder(IndexKind::kAuto, 3);
  builder.add(std::vector<float>{0.F, 1.F, 0.F});
  EXPECT_EQ(builder.build()->kind(), IndexKind::kExact);
  auto empty = VectorIndexBuilder(IndexKind::kHnsw, 3).build();
  EXPECT_EQ(empty->size(), 0U);
  EXPECT_TRUE(empty->search(std::vector<float>{1.F, 0.F, 0.F}, 5).empty());
  EXPECT_EQ(parse_index_kind("hnsw").value(), IndexKind::kHnsw);
  EXPECT_FALSE(parse_index_kind("faiss"));
}

TEST(VectorIndex, DotMatchesNaiveSum) {
  std::vector<float> a(37);
  std::vector<float> b(37);
  double naive = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>(i) * 0.25F - 3.F;
    b[i] = 1.F / (static_cast<float>(i) + 1.F);
    naive += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  }
  EXPECT_NEAR(dot(a.data(), b.data(), a.size()), naive, 1e-4);
}

}  // namespace
}  // namespace visearch::search
