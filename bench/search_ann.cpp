// Vector index benchmark: HNSW (hnswlib) against exact brute force on the same vectors, through
// visearch's VectorIndex interface. Reports build time, memory (index structures and process RSS growth),
// query latency and recall@10 of HNSW relative to exact search, for several beam widths (ef).
//
//   visearch_bench_search_ann [--n 50000] [--dim 1280] [--queries 200] [--data clustered|uniform|seeded]
//                             [--seed-catalog DATA_DIR] [--m 16] [--ef-construction 200] [--ef 32,64,128,256]
//                             [--shared ../shared/data] [--cache FILE]
//
// Data: "clustered" = 1000 non-negative random centres, points at cosine ~0.8 from theirs (like crop
// embeddings of one kind of object); "seeded" = the same around the real embeddings of a catalog;
// "uniform" = isotropic Gaussian directions (the hardest case for any ANN index); "crops" = real
// embeddings (mobilenetv2_embed) of random crops of the shared photos, queries from other photos
// (--shared DIR, --cache FILE to keep them). Other queries are fresh points from the same distribution.
// bench/search_ann.sh runs the reported configuration.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/image_decode.h"
#include "model/embedder.h"
#include "model/model_repository.h"
#include "search/catalog_store.h"
#include "search/vector_index.h"

namespace {

using visearch::search::IndexKind;
using visearch::search::Neighbor;
using visearch::search::VectorIndexBuilder;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A /proc/self/status field in MB (VmRSS: resident now, VmHWM: peak resident).
double status_mb(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) == 0) return std::atof(line.c_str() + prefix.size()) / 1024.0;
  }
  return 0;
}

void normalise(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * static_cast<double>(x);
  const auto inv = static_cast<float>(1.0 / std::sqrt(std::max(sum, 1e-30)));
  for (float& x : v) x *= inv;
}

struct Options {
  std::size_t n = 50000;
  int dim = 1280;
  std::size_t queries = 200;
  std::string data = "clustered";
  std::string seed_catalog;
  std::size_t m = 16;
  std::size_t ef_construction = 200;
  std::vector<std::size_t> ef{16, 32, 64, 128, 256};
  double similarity = 0.8;  // cosine of a point with its centre
  std::string shared = "../shared/data";
  std::string cache;  // crops: file of generated vectors (float32, n + queries rows), reused when present
};

// Real embeddings of random crops (15-100 % of the short side, aspect 1:2..2:1) of real photos: the index
// from the COCO images and the samples, the queries from the Pascal VOC images (no photo in common).
std::vector<std::vector<float>> crop_embeddings(const std::vector<std::string>& images, std::size_t count,
                                                std::uint64_t seed) {
  const visearch::ModelRepository repository = visearch::ModelRepository::with_defaults({});
  const unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  std::vector<std::vector<float>> out(count);
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      visearch::RuntimeOptions runtime;
      runtime.intra_op_threads = 1;
      auto embedder =
          visearch::Embedder::load(*repository.find_spec("mobilenetv2_embed"), repository, runtime);
      if (!embedder) return;
      std::mt19937_64 rng(seed + t);
      std::size_t loaded = images.size();
      visearch::Image image;
      for (std::size_t i = t; i < count; i += threads) {
        const std::size_t which = (i / 25) % images.size();  // 25 crops per decoded photo
        if (which != loaded) {
          auto bytes = visearch::read_file_bytes(images[which], 64U << 20U);
          auto decoded = visearch::decode_image(*bytes, visearch::DecodeLimits{});
          image = std::move(decoded->image);
          loaded = which;
        }
        std::uniform_real_distribution<float> unit(0.F, 1.F);
        const float short_side = static_cast<float>(std::min(image.width, image.height));
        const float side = short_side * (0.15F + 0.85F * unit(rng));
        const float aspect = std::exp((unit(rng) - 0.5F) * 1.386F);  // 0.5 .. 2
        const float w = std::min(static_cast<float>(image.width), side * std::sqrt(aspect));
        const float h = std::min(static_cast<float>(image.height), side / std::sqrt(aspect));
        const float x = unit(rng) * (static_cast<float>(image.width) - w);
        const float y = unit(rng) * (static_cast<float>(image.height) - h);
        auto v = (*embedder)->embed_region(image, visearch::ImageBox{x, y, x + w, y + h});
        if (v) out[i] = std::move(*v);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  return out;
}

std::vector<std::string> photos_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".jpg") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Generator {
 public:
  Generator(const Options& o, std::vector<std::vector<float>> seeds) : o_(o), rng_(12345) {
    if (o.data == "uniform") return;
    if (!seeds.empty()) {
      centres_ = std::move(seeds);
    } else {
      std::normal_distribution<float> normal(0.F, 1.F);
      for (int c = 0; c < 1000; ++c) {
        std::vector<float> v(static_cast<std::size_t>(o.dim));
        for (float& x : v) x = std::max(0.F, normal(rng_));  // non-negative like post-ReLU features
        normalise(v);
        centres_.push_back(std::move(v));
      }
    }
    // |centre| = 1; noise of variance s^2 per coordinate gives cos ~ 1 / sqrt(1 + d s^2).
    const double s2 = (1.0 / (o.similarity * o.similarity) - 1.0) / o.dim;
    sigma_ = static_cast<float>(std::sqrt(s2));
  }

  std::vector<float> next() {
    std::normal_distribution<float> normal(0.F, 1.F);
    std::vector<float> v(static_cast<std::size_t>(o_.dim));
    if (centres_.empty()) {
      for (float& x : v) x = normal(rng_);
    } else {
      const auto& c = centres_[std::uniform_int_distribution<std::size_t>(0, centres_.size() - 1)(rng_)];
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::max(0.F, c[i] + sigma_ * normal(rng_));
    }
    normalise(v);
    return v;
  }

 private:
  const Options& o_;
  std::mt19937_64 rng_;
  std::vector<std::vector<float>> centres_;
  float sigma_ = 0;
};

std::vector<std::size_t> parse_list(const char* text) {
  std::vector<std::size_t> out;
  for (const char* p = text; *p != '\0';) {
    out.push_back(static_cast<std::size_t>(std::strtoul(p, const_cast<char**>(&p), 10)));  // NOLINT
    if (*p == ',') ++p;
  }
  return out;
}

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--n")
      o.n = std::strtoul(value, nullptr, 10);
    else if (flag == "--dim")
      o.dim = std::atoi(value);
    else if (flag == "--queries")
      o.queries = std::strtoul(value, nullptr, 10);
    else if (flag == "--data")
      o.data = value;
    else if (flag == "--seed-catalog")
      o.seed_catalog = value;
    else if (flag == "--m")
      o.m = std::strtoul(value, nullptr, 10);
    else if (flag == "--ef-construction")
      o.ef_construction = std::strtoul(value, nullptr, 10);
    else if (flag == "--ef")
      o.ef = parse_list(value);
    else if (flag == "--shared")
      o.shared = value;
    else if (flag == "--cache")
      o.cache = value;
    else if (flag == "--similarity")
      o.similarity = std::atof(value);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::vector<std::vector<float>> seeds;
  if (o.data == "seeded") {
    auto store = visearch::search::CatalogStore::open(o.seed_catalog, false);
    if (!store) {
      std::fprintf(stderr, "--seed-catalog: %s\n", store.error().message.c_str());
      return 2;
    }
    auto reader = (*store)->reader();
    auto visited = reader->for_each_vector([&](const visearch::search::StoredVector& v) {
      seeds.emplace_back(v.embedding.begin(), v.embedding.end());
    });
    if (!visited || seeds.empty()) {
      std::fprintf(stderr, "no vectors in %s\n", o.seed_catalog.c_str());
      return 2;
    }
    o.dim = static_cast<int>(seeds.front().size());
  }
  Generator generator(o, seeds);
  std::printf("data %s, n %zu, dim %d, queries %zu%s\n", o.data.c_str(), o.n, o.dim, o.queries,
              o.data == "seeded"
                  ? (", " + std::to_string(seeds.size()) + " real catalog embeddings as centres").c_str()
                  : "");

  std::vector<std::vector<float>> queries;
  std::vector<std::vector<float>> crops;
  if (o.data == "crops") {
    const std::size_t rows = o.n + o.queries;
    const std::size_t row_bytes = static_cast<std::size_t>(o.dim) * sizeof(float);
    if (!o.cache.empty() && std::filesystem::exists(o.cache) &&
        std::filesystem::file_size(o.cache) == rows * row_bytes) {
      std::ifstream in(o.cache, std::ios::binary);
      crops.assign(rows, std::vector<float>(static_cast<std::size_t>(o.dim)));
      for (auto& v : crops)
        in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(row_bytes));  // NOLINT
      std::printf("crops: %zu embeddings read from %s\n", rows, o.cache.c_str());
    } else {
      const auto embed_start = Clock::now();
      std::vector<std::string> index_photos = photos_in(o.shared + "/coco128-train2017/images/train2017");
      for (const auto& p : photos_in(o.shared + "/coco-mini-train2017/train2017")) index_photos.push_back(p);
      for (const auto& p : photos_in(o.shared + "/samples")) index_photos.push_back(p);
      crops = crop_embeddings(index_photos, o.n, 1);
      auto held_out = crop_embeddings(photos_in(o.shared + "/voc2012-sample100/images"), o.queries, 2);
      crops.insert(crops.end(), held_out.begin(), held_out.end());
      std::printf(
          "crops: %zu embeddings of random crops of %zu photos (queries: %zu crops of 100 other photos) "
          "in %.0f s\n",
          rows, index_photos.size(), o.queries, ms_since(embed_start) / 1000.0);
      if (!o.cache.empty()) {
        std::ofstream out(o.cache, std::ios::binary | std::ios::trunc);
        for (const auto& v : crops)
          out.write(reinterpret_cast<const char*>(v.data()),
                    static_cast<std::streamsize>(row_bytes));  // NOLINT
      }
    }
    for (const auto& v : crops) {
      if (v.size() != static_cast<std::size_t>(o.dim)) {
        std::fprintf(stderr, "a crop could not be embedded (are the models in ../shared/models?)\n");
        return 2;
      }
    }
    queries.assign(crops.end() - static_cast<std::ptrdiff_t>(o.queries), crops.end());
  } else {
    for (std::size_t q = 0; q < o.queries; ++q) queries.push_back(generator.next());
  }
  VectorIndexBuilder exact_builder(IndexKind::kExact, o.dim);
  visearch::search::HnswParams params;
  params.m = o.m;
  params.ef_construction = o.ef_construction;
  params.ef_search = 10;  // per query, ef is raised by asking for more candidates (hnswlib uses max(ef, k))
  VectorIndexBuilder hnsw_builder(IndexKind::kHnsw, o.dim, params);
  for (std::size_t i = 0; i < o.n; ++i) {
    const auto v = o.data == "crops" ? crops[i] : generator.next();
    exact_builder.add(v);
    hnsw_builder.add(v);
  }
  crops = {};
  auto start = Clock::now();
  auto exact = exact_builder.build();
  const double exact_build_ms = ms_since(start);
  start = Clock::now();
  auto hnsw = hnsw_builder.build();
  const double hnsw_build_ms = ms_since(start);

  std::vector<std::set<std::uint32_t>> truth;
  std::vector<double> exact_ms;
  for (const auto& q : queries) {
    start = Clock::now();
    const auto hits = exact->search(q, 10);
    exact_ms.push_back(ms_since(start));
    std::set<std::uint32_t> ids;
    for (const Neighbor& h : hits) ids.insert(h.id);
    truth.push_back(std::move(ids));
  }
  const double vectors_mb = static_cast<double>(o.n) * o.dim * sizeof(float) / 1e6;
  std::printf(
      "\nexact: build %.0f ms, index %.1f MB (raw vectors %.1f MB), query mean %.2f ms p50 %.2f ms p95 %.2f "
      "ms\n",
      exact_build_ms, static_cast<double>(exact->memory_bytes()) / 1e6, vectors_mb,
      [&] {
        double s = 0;
        for (double v : exact_ms) s += v;
        return s / static_cast<double>(exact_ms.size());
      }(),
      percentile(exact_ms, 0.5), percentile(exact_ms, 0.95));
  std::printf(
      "hnsw:  build %.1f s (M %zu, ef_construction %zu, %u threads), index %.1f MB (vectors + graph)\n",
      hnsw_build_ms / 1000.0, o.m, o.ef_construction, std::max(1U, std::thread::hardware_concurrency()),
      static_cast<double>(hnsw->memory_bytes()) / 1e6);
  std::printf("process: resident %.0f MB now, peak %.0f MB (both indexes + the generated data)\n",
              status_mb("VmRSS"), status_mb("VmHWM"));
  std::printf("\n%6s  %10s  %10s  %10s  %10s\n", "ef", "recall@10", "mean ms", "p50 ms", "p95 ms");
  for (std::size_t ef : o.ef) {
    double found = 0;
    std::vector<double> times;
    for (std::size_t i = 0; i < queries.size(); ++i) {
      start = Clock::now();
      auto hits = hnsw->search(queries[i], std::max<std::size_t>(ef, 10));
      hits.resize(std::min<std::size_t>(hits.size(), 10));
      times.push_back(ms_since(start));
      for (const Neighbor& h : hits) found += static_cast<double>(truth[i].count(h.id));
    }
    double mean = 0;
    for (double t : times) mean += t;
    std::printf("%6zu  %10.4f  %10.3f  %10.3f  %10.3f\n", ef,
                found / (10.0 * static_cast<double>(queries.size())),
                mean / static_cast<double>(times.size()), percentile(times, 0.5), percentile(times, 0.95));
  }
  return 0;
}
