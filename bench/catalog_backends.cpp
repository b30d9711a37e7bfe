// Catalog engine benchmark: import throughput, search latency and memory of one catalog engine (SQLite +
// in-process vector index, or an OpenSearch cluster) on a synthetic catalog, through visearch's Catalog
// interface, so both engines do exactly what `visearch import` and `visearch serve` make them do.
//
//   visearch_bench_catalog_backends --catalog URI [--products 10000] [--dimension 1280]
//       [--objects-per-product 1.6] [--batch 5000] [--queries 200] [--warmup 20] [--seed 1]
//       [--clusters 1000] [--limit 10] [--shards 3] [--replicas 1] [--jvm-pids PID,PID...] [--json]
//
// Synthetic catalog (reproducible from --seed): product i ("p0000042") gets floor((i+1)K) - floor(iK)
// objects for K = --objects-per-product (1.6 -> 1, 2, 2, 1, 2, ...: the average is exactly K), one image per
// object. Each object belongs to one of --clusters clusters; a cluster has a detector label of the default
// label mapping, so the product's category (the first object's label's category), title and description
// words (label keywords, colours, materials, brands) give BM25 and the category filter real work. Object
// vectors are unit vectors at cosine ~0.8 from their cluster's centre; centres are non-negative (like
// post-ReLU image features), so unrelated vectors sit at cosine ~0.4 and the HNSW graph is not trivial.
// Vectors are generated from (seed, product, object) on demand, so the bench never holds the catalog.
//
// Measured:
//   import  every upsert() of --batch products (generation of the records not counted): products/s and
//           vectors/s; then warm() (SQLite: builds the HNSW index; OpenSearch: a stats call) and the
//           "ready" rate = products / (import + warm).
//   search  --queries searches, one after another, each with one query object: a unit vector at cosine
//           ~0.9 from a random catalog object's vector (and that object's label for the fused ranking);
//           p50/p90/p99/mean ms of Catalog::search() for the visual and the fused ranking (min_score 0),
//           after --warmup unmeasured searches. hit@limit: the share of searches whose source product is
//           in the results (a sanity check that both engines find the same thing).
//   memory  this process's peak and final RSS (/proc/self/status VmHWM, VmRSS): for SQLite the engine's
//           memory; with --jvm-pids the sum over those processes (the OpenSearch nodes) of VmRSS, RssAnon
//           and VmHWM, read after the import and after the searches.
// Output: a human summary on stderr as it goes; with --json, one JSON object per line on stdout (events
// "config", "import", "warm", "search", "memory", and last "summary" with every figure).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/catalog.h"
#include "search/label_mapping.h"
#include "search/object_analysis.h"
#include "search/product.h"
#include "search/ranking.h"

namespace {

namespace vs = visearch::search;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Config {
  std::string catalog;
  std::size_t products = 10000;
  int dimension = 1280;
  double objects_per_product = 1.6;
  std::size_t batch = 5000;
  std::size_t queries = 200;
  std::size_t warmup = 20;
  std::uint64_t seed = 1;
  std::size_t clusters = 1000;
  int limit = 10;
  int shards = 3;
  int replicas = 1;
  std::vector<long> jvm_pids;
  bool json_out = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr
      << "visearch_bench_catalog_backends: " << why << "\n"
      << "usage: visearch_bench_catalog_backends --catalog URI [--products N] [--dimension D]\n"
      << "         [--objects-per-product K] [--batch B] [--queries Q] [--warmup W] [--seed S]\n"
      << "         [--clusters C] [--limit L] [--shards N] [--replicas N] [--jvm-pids P,P,...] [--json]\n";
  std::exit(2);
}

Config parse_args(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--json") {
      c.json_out = true;
      continue;
    }
    if (i + 1 >= argc) usage(flag + " needs a value");
    const std::string value = argv[++i];
    const auto count = [&]() -> std::size_t {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0') usage(flag + " wants a number, got '" + value + "'");
      return static_cast<std::size_t>(v);
    };
    if (flag == "--catalog") {
      c.catalog = value;
    } else if (flag == "--products") {
      c.products = count();
    } else if (flag == "--dimension") {
      c.dimension = static_cast<int>(count());
    } else if (flag == "--objects-per-product") {
      c.objects_per_product = std::atof(value.c_str());
    } else if (flag == "--batch") {
      c.batch = count();
    } else if (flag == "--queries") {
      c.queries = count();
    } else if (flag == "--warmup") {
      c.warmup = count();
    } else if (flag == "--seed") {
      c.seed = count();
    } else if (flag == "--clusters") {
      c.clusters = count();
    } else if (flag == "--limit") {
      c.limit = static_cast<int>(count());
    } else if (flag == "--shards") {
      c.shards = static_cast<int>(count());
    } else if (flag == "--replicas") {
      c.replicas = static_cast<int>(count());
    } else if (flag == "--jvm-pids") {
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        if (!item.empty()) c.jvm_pids.push_back(std::atol(item.c_str()));
      }
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (c.catalog.empty()) usage("--catalog is required");
  if (c.products == 0 || c.batch == 0 || c.dimension < 2 || c.clusters == 0) usage("sizes must be positive");
  if (c.objects_per_product <= 0 || c.objects_per_product > 10)
    usage("--objects-per-product must be in (0, 10]");
  return c;
}

// --- memory ------------------------------------------------------------------------------------------------

// Fields of /proc/PID/status in MiB (VmRSS, VmHWM, RssAnon, RssFile); 0 when absent.
struct ProcMemory {
  double rss = 0;
  double hwm = 0;
  double anon = 0;
  double file = 0;
  bool found = false;
};

ProcMemory proc_memory(const std::string& pid) {
  ProcMemory m;
  std::ifstream status("/proc/" + pid + "/status");
  std::string line;
  const auto field = [&line](const char* name, double& out) {
    const std::string prefix = std::string(name) + ":";
    if (line.rfind(prefix, 0) == 0) out = std::atof(line.c_str() + prefix.size()) / 1024.0;
  };
  while (std::getline(status, line)) {
    m.found = true;
    field("VmRSS", m.rss);
    field("VmHWM", m.hwm);
    field("RssAnon", m.anon);
    field("RssFile", m.file);
  }
  return m;
}

json memory_json(const Config& c, const std::string& when) {
  const ProcMemory self = proc_memory("self");
  json out = {{"event", "memory"},
              {"when", when},
              {"bench_rss_mb", self.rss},
              {"bench_peak_rss_mb", self.hwm},
              {"bench_anon_mb", self.anon}};
  if (!c.jvm_pids.empty()) {
    ProcMemory sum;
    int alive = 0;
    for (long pid : c.jvm_pids) {
      const ProcMemory m = proc_memory(std::to_string(pid));
      if (!m.found) continue;
      ++alive;
      sum.rss += m.rss;
      sum.hwm += m.hwm;
      sum.anon += m.anon;
      sum.file += m.file;
    }
    out["jvm_processes"] = alive;
    out["jvm_rss_mb"] = sum.rss;
    out["jvm_peak_rss_mb"] = sum.hwm;
    out["jvm_anon_mb"] = sum.anon;
    out["jvm_file_mb"] = sum.file;
  }
  return out;
}

// --- synthetic catalog -------------------------------------------------------------------------------------

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27U)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31U);
}

std::uint64_t key(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t salt) {
  return mix(mix(mix(seed ^ (salt * 0x100000001B3ULL)) ^ a) ^ (b + 0x51ED27ULL));
}

void normalise(std::vector<float>& v) {
  double sum = 0;
  for (const float x : v) sum += static_cast<double>(x) * static_cast<double>(x);
  const double inv = 1.0 / std::sqrt(std::max(sum, 1e-30));
  for (float& x : v) x = static_cast<float>(static_cast<double>(x) * inv);
}

// cos * base + sqrt(1 - cos^2) * (a random unit direction), normalised: a unit vector at cosine ~cos from
// `base` (the random direction is nearly orthogonal to it in high dimension).
std::vector<float> near(const std::vector<float>& base, double cosine, std::uint64_t rng_seed) {
  std::mt19937_64 rng(rng_seed);
  std::normal_distribution<float> normal(0.F, 1.F);
  std::vector<float> noise(base.size());
  for (float& x : noise) x = normal(rng);
  normalise(noise);
  const auto a = static_cast<float>(cosine);
  const auto b = static_cast<float>(std::sqrt(1.0 - cosine * cosine));
  std::vector<float> out(base.size());
  for (std::size_t i = 0; i < base.size(); ++i) out[i] = a * base[i] + b * noise[i];
  normalise(out);
  return out;
}

constexpr const char* kColours[] = {"red",   "blue",  "green", "black", "white", "grey",
                                    "beige", "brown", "navy",  "pink",  "olive", "yellow"};
constexpr const char* kMaterials[] = {"cotton", "steel",  "oak",     "ceramic", "leather",
                                      "glass",  "bamboo", "plastic", "wool",    "linen"};
constexpr const char* kStyles[] = {"classic", "modern", "compact", "deluxe", "vintage",
                                   "rustic",  "sporty", "elegant", "basic",  "premium"};
constexpr const char* kBrands[] = {
    "Northwind", "Bluefield",  "Osterholm", "Kestrel",  "Marlow",   "Tidewater", "Ashgrove", "Copperleaf",
    "Halden",    "Brightmoor", "Quillon",   "Larkspur", "Redcliff", "Silverton", "Wrenfold", "Yarrow"};
template <typename T, std::size_t N>
constexpr std::size_t count_of(const T (&)[N]) {  // NOLINT(cppcoreguidelines-avoid-c-arrays)
  return N;
}

class Catalogue {
 public:
  Catalogue(const Config& c, const vs::LabelMapping& mapping) : c_(c) {
    for (const auto& [label, terms] : mapping.labels()) {
      if (!terms.categories.empty()) labels_.push_back(label);
    }
    if (labels_.empty()) labels_.emplace_back("cup");
    std::mt19937_64 rng(key(c.seed, 0, 0, 1));
    std::normal_distribution<float> normal(0.F, 1.F);
    centres_.resize(c.clusters);
    for (std::vector<float>& centre : centres_) {
      centre.resize(static_cast<std::size_t>(c.dimension));
      for (float& x : centre) x = std::abs(normal(rng));
      normalise(centre);
    }
    for (const std::string& label : labels_) {
      keywords_.push_back(mapping.terms(label).keywords);
      categories_.push_back(mapping.primary_category(label));
    }
  }

  [[nodiscard]] std::size_t objects_of(std::size_t i) const {
    const auto upto = [this](std::size_t n) {
      return static_cast<std::size_t>(std::floor(static_cast<double>(n) * c_.objects_per_product + 1e-9));
    };
    return std::max<std::size_t>(1, upto(i + 1) - upto(i));
  }
  [[nodiscard]] std::size_t cluster_of(std::size_t i, std::size_t j) const {
    return static_cast<std::size_t>(key(c_.seed, i, j, 2) % c_.clusters);
  }
  [[nodiscard]] const std::string& label_of_cluster(std::size_t cluster) const {
    return labels_[cluster % labels_.size()];
  }
  [[nodiscard]] std::vector<float> vector_of(std::size_t i, std::size_t j) const {
    return near(centres_[cluster_of(i, j)], 0.8, key(c_.seed, i, j, 3));
  }
  static std::string id_of(std::size_t i) {
    char buf[32];  // NOLINT(cppcoreguidelines-avoid-c-arrays)
    std::snprintf(buf, sizeof(buf), "p%07zu", i);
    return buf;
  }

  [[nodiscard]] vs::ProductRecord record(std::size_t i) const {
    vs::ProductRecord r;
    vs::Product& p = r.product;
    const std::size_t label = cluster_of(i, 0) % labels_.size();
    const std::uint64_t h = key(c_.seed, i, 0, 4);
    const std::vector<std::string>& words = keywords_[label];
    const std::string& word = words[(h >> 8U) % words.size()];
    const char* colour = kColours[(h >> 16U) % count_of(kColours)];
    const char* material = kMaterials[(h >> 24U) % count_of(kMaterials)];
    const char* style = kStyles[(h >> 32U) % count_of(kStyles)];
    const char* brand = kBrands[(h >> 40U) % count_of(kBrands)];
    p.id = id_of(i);
    p.title = std::string(style) + " " + colour + " " + word + " " + std::to_string(100 + (h >> 48U) % 900);
    p.description = "A " + std::string(style) + " " + word + " in " + colour + " " + material + ", made by " +
                    brand + ". Synthetic product " + p.id + ".";
    p.category = categories_[label];
    p.brand = brand;
    p.price = 5.0 + static_cast<double>((h >> 20U) % 20000) / 100.0;
    p.currency = "EUR";
    p.attributes = {{"colour", colour}, {"material", material}};
    p.url = "https://shop.example/p/" + p.id;
    const std::size_t k = objects_of(i);
    for (std::size_t j = 0; j < k; ++j) {
      vs::ProductImage image;
      image.n = static_cast<int>(j);
      char sha[65];  // NOLINT(cppcoreguidelines-avoid-c-arrays)
      std::snprintf(sha, sizeof(sha), "%016llx%016llx%016llx%016llx",
                    static_cast<unsigned long long>(key(c_.seed, i, j, 5)),
                    static_cast<unsigned long long>(key(c_.seed, i, j, 6)),
                    static_cast<unsigned long long>(key(c_.seed, i, j, 7)),
                    static_cast<unsigned long long>(key(c_.seed, i, j, 8)));
      image.sha256 = sha;
      image.file = "images/" + image.sha256.substr(0, 2) + "/" + image.sha256 + ".jpg";
      image.content_type = "image/jpeg";
      image.width = 800;
      image.height = 800;
      image.source = "synthetic";
      p.images.push_back(std::move(image));

      vs::IndexedObject object;
      object.image_n = static_cast<int>(j);
      object.label = label_of_cluster(cluster_of(i, j));
      object.score = 0.9F;
      object.box = visearch::ImageBox{40.F, 40.F, 760.F, 760.F};
      object.embedding = vector_of(i, j);
      r.objects.push_back(std::move(object));
    }
    return r;
  }

  // Query q: a catalog object's vector moved to cosine ~0.9, with that object's label.
  struct Query {
    vs::QueryObject object;
    std::string product;
  };
  [[nodiscard]] Query query(std::size_t q) const {
    const std::uint64_t h = key(c_.seed, q, 0, 9);
    const std::size_t i = static_cast<std::size_t>(h % c_.products);
    const std::size_t j = static_cast<std::size_t>((h >> 32U) % objects_of(i));
    Query out;
    out.product = id_of(i);
    out.object.label = label_of_cluster(cluster_of(i, j));
    out.object.score = 0.8F;
    out.object.box = visearch::ImageBox{10.F, 10.F, 300.F, 300.F};
    out.object.embedding = near(vector_of(i, j), 0.9, key(c_.seed, q, 0, 10));
    return out;
  }

 private:
  const Config& c_;
  std::vector<std::string> labels_;
  std::vector<std::vector<std::string>> keywords_;
  std::vector<std::string> categories_;
  std::vector<std::vector<float>> centres_;
};

// --- statistics --------------------------------------------------------------------------------------------

double nearest_rank(std::vector<double> sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

json latency_json(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (const double x : ms) sum += x;
  return {{"n", ms.size()},
          {"p50_ms", nearest_rank(ms, 0.50)},
          {"p90_ms", nearest_rank(ms, 0.90)},
          {"p99_ms", nearest_rank(ms, 0.99)},
          {"mean_ms", ms.empty() ? 0.0 : sum / static_cast<double>(ms.size())},
          {"max_ms", ms.empty() ? 0.0 : ms.back()}};
}

void emit(const Config& c, const json& line) {
  if (c.json_out) {
    std::cout << line.dump() << "\n";
    std::cout.flush();
  }
}

[[noreturn]] void fail(const Config& c, const std::string& stage, const visearch::Error& error) {
  std::cerr << "visearch_bench_catalog_backends: " << stage << " failed: " << error.message << "\n";
  emit(c, {{"event", "error"},
           {"stage", stage},
           {"code", static_cast<int>(error.code)},
           {"message", error.message}});
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const Config c = parse_args(argc, argv);
  const ProcMemory start_memory = proc_memory("self");

  vs::CatalogOpenOptions open_options;
  open_options.uri = c.catalog;
  open_options.index = vs::IndexKind::kHnsw;  // SQLite: the in-process HNSW index
  open_options.shards = c.shards;             // OpenSearch: the products index
  open_options.replicas = c.replicas;
  const auto open_start = Clock::now();
  auto opened = vs::open_catalog(open_options);
  if (!opened) fail(c, "open", opened.error());
  vs::Catalog& catalog = **opened;
  const double open_s = seconds_since(open_start);
  const Catalogue data(c, catalog.mapping());

  std::size_t vectors = 0;
  for (std::size_t i = 0; i < c.products; ++i) vectors += data.objects_of(i);
  const std::string engine = catalog.engine();
  emit(c, {{"event", "config"},
           {"engine", engine},
           {"catalog", catalog.location()},
           {"products", c.products},
           {"vectors", vectors},
           {"dimension", c.dimension},
           {"objects_per_product", c.objects_per_product},
           {"batch", c.batch},
           {"queries", c.queries},
           {"warmup", c.warmup},
           {"seed", c.seed},
           {"clusters", c.clusters},
           {"limit", c.limit},
           {"shards", c.shards},
           {"replicas", c.replicas},
           {"open_s", open_s}});
  std::cerr << engine << ": " << c.products << " products, " << vectors << " vectors of " << c.dimension
            << " dimensions, batches of " << c.batch << "\n";

  // --- import ---
  if (visearch::Status bound = catalog.bind_embedder("bench-synthetic", c.dimension, "bench-synthetic");
      !bound) {
    fail(c, "bind_embedder", bound.error());
  }
  double import_s = 0;
  double generate_s = 0;
  std::size_t upserts = 0;
  std::vector<double> upsert_s;
  for (std::size_t first = 0; first < c.products; first += c.batch) {
    const std::size_t last = std::min(c.products, first + c.batch);
    const auto gen_start = Clock::now();
    std::vector<vs::ProductRecord> records;
    records.reserve(last - first);
    std::size_t batch_vectors = 0;
    for (std::size_t i = first; i < last; ++i) {
      records.push_back(data.record(i));
      batch_vectors += records.back().objects.size();
    }
    generate_s += seconds_since(gen_start);
    const auto t0 = Clock::now();
    auto done = catalog.upsert(records);
    const double s = seconds_since(t0);
    if (!done)
      fail(c, "upsert of products " + std::to_string(first) + ".." + std::to_string(last - 1), done.error());
    import_s += s;
    upsert_s.push_back(s);
    ++upserts;
    std::cerr << "  upsert " << upserts << ": " << (last - first) << " products (" << batch_vectors
              << " vectors) in " << s << " s, generation " << done->generation << "\n";
    emit(c, {{"event", "upsert"},
             {"n", upserts},
             {"products", last - first},
             {"vectors", batch_vectors},
             {"seconds", s},
             {"inserted", done->inserted},
             {"updated", done->updated},
             {"generation", done->generation}});
  }
  const json after_import = memory_json(c, "after_import");
  emit(c, after_import);
  const auto warm_start = Clock::now();
  auto warmed = catalog.warm();
  if (!warmed) fail(c, "warm", warmed.error());
  const double warm_s = seconds_since(warm_start);
  const json import_line = {{"event", "import"},
                            {"products", c.products},
                            {"vectors", vectors},
                            {"upserts", upserts},
                            {"import_s", import_s},
                            {"products_per_s", static_cast<double>(c.products) / import_s},
                            {"vectors_per_s", static_cast<double>(vectors) / import_s},
                            {"warm_s", warm_s},
                            {"warm_vectors", *warmed},
                            {"ready_products_per_s", static_cast<double>(c.products) / (import_s + warm_s)},
                            {"generate_s", generate_s},
                            {"upsert_s", upsert_s}};
  emit(c, import_line);
  std::cerr << "  import " << import_s << " s (" << static_cast<double>(c.products) / import_s
            << " products/s), warm " << warm_s << " s (" << *warmed << " vectors)\n";
  auto stats = catalog.stats();
  json stats_json = json::object();
  if (stats) {
    stats_json = {
        {"products", stats->products}, {"vectors", stats->vectors}, {"bytes", stats->database_bytes}};
  }

  // --- search ---
  json summary = {{"event", "summary"},     {"engine", engine},    {"catalog", catalog.location()},
                  {"products", c.products}, {"vectors", vectors},  {"dimension", c.dimension},
                  {"batch", c.batch},       {"shards", c.shards},  {"replicas", c.replicas},
                  {"import", import_line},  {"stats", stats_json}, {"memory_after_import", after_import}};
  for (const vs::Ranking ranking : {vs::Ranking::kVisual, vs::Ranking::kFused}) {
    vs::SearchOptions options;
    options.ranking = ranking;
    options.limit = c.limit;
    options.min_score = 0.0;
    std::vector<double> ms;
    std::size_t errors = 0;
    std::size_t hits = 0;
    std::string first_error;
    for (std::size_t q = 0; q < c.warmup + c.queries; ++q) {
      // The same queries for both rankings; the warm-up ones come from another range.
      const Catalogue::Query query = data.query(q < c.warmup ? (1U << 30U) + q : q - c.warmup);
      const auto t0 = Clock::now();
      auto found = catalog.search({query.object}, options);
      const double elapsed = seconds_since(t0) * 1000.0;
      if (q < c.warmup) continue;
      if (!found) {
        if (errors++ == 0) first_error = found.error().message;
        continue;
      }
      ms.push_back(elapsed);
      if (!found->objects.empty()) {
        for (const vs::ProductMatch& m : found->objects.front().products) {
          if (m.product.id == query.product) {
            ++hits;
            break;
          }
        }
      }
    }
    json line = latency_json(ms);
    line["event"] = "search";
    line["ranking"] = std::string(vs::ranking_name(ranking));
    line["errors"] = errors;
    if (!first_error.empty()) line["first_error"] = first_error;
    line["hit_at_limit"] = ms.empty() ? 0.0 : static_cast<double>(hits) / static_cast<double>(ms.size());
    emit(c, line);
    std::cerr << "  search " << vs::ranking_name(ranking) << ": p50 " << line["p50_ms"].get<double>()
              << " ms, p99 " << line["p99_ms"].get<double>() << " ms, hit@" << c.limit << " "
              << line["hit_at_limit"].get<double>()
              << (errors > 0 ? ", errors " + std::to_string(errors) + ": " + first_error : std::string())
              << "\n";
    summary[std::string("search_") + std::string(vs::ranking_name(ranking))] = line;
  }
  const json after_search = memory_json(c, "after_search");
  emit(c, after_search);
  summary["memory_after_search"] = after_search;
  summary["bench_start_rss_mb"] = start_memory.rss;
  emit(c, summary);
  std::cerr << "  memory: bench peak RSS " << after_search["bench_peak_rss_mb"].get<double>() << " MiB";
  if (after_search.contains("jvm_rss_mb")) {
    std::cerr << ", JVMs RSS " << after_search["jvm_rss_mb"].get<double>() << " MiB (peak "
              << after_search["jvm_peak_rss_mb"].get<double>() << " MiB)";
  }
  std::cerr << "\n";
  return 0;
}
