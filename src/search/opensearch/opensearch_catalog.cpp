#include "search/opensearch/opensearch_catalog.h"

#include <openssl/evp.h>

#include <unistd.h>
#include <algorithm>
#include <fstream>
#include <map>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/sha256.h"
#include "search/catalog_import.h"
#include "search/text_util.h"

namespace visearch::search {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kFullTextCandidates = 200;  // as the SQLite engine
constexpr int kCategoryCandidates = 2000;
constexpr int kMaxWindow = 10000;
constexpr int kMaxFacetValues = 1000;  // OpenSearch's default index.max_result_window
constexpr std::size_t kBulkDocuments = 500;
constexpr std::size_t kBulkBytes = std::size_t{8} << 20U;
constexpr int kRetries = 6;
constexpr std::chrono::milliseconds kServingTtl{1000};
constexpr std::int64_t kStaleLockSeconds = 3600;
constexpr const char* kTextFields[] = {"title^4", "description", "category.text^2", "brand.text", "extra"};

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),  // NOLINT
                                bytes.data(), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

// --- products as stored -------------------------------------------------------------------------------

json product_to_store(const Product& p) {
  json images = json::array();
  for (const ProductImage& i : p.images) {
    images.push_back({{"n", i.n},
                      {"sha256", i.sha256},
                      {"content_type", i.content_type},
                      {"width", i.width},
                      {"height", i.height},
                      {"source", i.source}});
  }
  json out = {{"id", p.id},
              {"title", p.title},
              {"description", p.description},
              {"category", p.category},
              {"brand", p.brand},
              {"currency", p.currency},
              {"attributes", p.attributes},
              {"images", images},
              {"updated_at", p.updated_at},
              {"url", p.url}};
  out["price"] = p.price ? json(*p.price) : json(nullptr);
  return out;
}

Product product_from_store(const json& s) {
  Product p;
  p.id = s.value("id", "");
  p.title = s.value("title", "");
  p.description = s.value("description", "");
  p.category = s.value("category", "");
  p.brand = s.value("brand", "");
  p.currency = s.value("currency", "");
  if (s.contains("price") && s["price"].is_number()) p.price = s["price"].get<double>();
  if (s.contains("attributes") && s["attributes"].is_object()) {
    for (const auto& [k, v] : s["attributes"].items()) {
      if (v.is_string()) p.attributes[k] = v.get<std::string>();
    }
  }
  if (s.contains("images") && s["images"].is_array()) {
    for (const json& i : s["images"]) {
      ProductImage image;
      image.n = i.value("n", 0);
      image.sha256 = i.value("sha256", "");
      image.content_type = i.value("content_type", "");
      image.width = i.value("width", 0);
      image.height = i.value("height", 0);
      image.source = i.value("source", "");
      image.file = "opensearch:" + image.sha256;
      p.images.push_back(std::move(image));
    }
  }
  p.updated_at = s.value("updated_at", std::int64_t{0});
  p.url = s.value("url", "");
  return p;
}

std::string attribute_term(const std::string& key, const std::string& value) {
  return to_lower_ascii(key) + "=" + to_lower_ascii(value);
}

json product_document(const ProductRecord& record, std::int64_t updated_at) {
  Product product = record.product;
  product.updated_at = updated_at;
  json attr = json::array();
  std::string extra;
  for (const auto& [k, v] : product.attributes) {
    attr.push_back(attribute_term(k, v));
    if (!extra.empty()) extra += ' ';
    extra += v;
  }
  json shas = json::array();
  for (const ProductImage& i : product.images) shas.push_back(i.sha256);
  json objects = json::array();
  for (const IndexedObject& o : record.objects) {
    if (o.embedding.empty()) continue;
    json object = {{"image_n", o.image_n},
                   {"label", o.label},
                   {"score", o.score},
                   {"box", {o.box.x1, o.box.y1, o.box.x2, o.box.y2}},
                   {"vec", o.embedding}};
    if (has_colour(o.colour)) object["colour"] = o.colour;
    objects.push_back(std::move(object));
  }
  json doc = {{"id", product.id},
              {"title", product.title},
              {"description", product.description},
              {"category", product.category},
              {"brand", product.brand},
              {"extra", extra},
              {"attr", attr},
              {"image_sha", shas},
              {"image_count", product.images.size()},
              {"product", product_to_store(product)},
              {"objects", objects}};
  if (product.price) doc["price"] = *product.price;
  return doc;
}

// An object's stored colour profile (absent in documents indexed before colours were stored: unknown).
ColourProfile colour_of_object(const json& object) {
  if (!object.is_object() || !object.contains("colour")) return ColourProfile{};
  return colour_from_json(object["colour"]).value_or(ColourProfile{});
}

// The declared_colours() mask of a document's "attr" terms ("color=navy blue").
std::uint16_t declared_colours_of(const json& source) {
  std::uint16_t mask = 0;
  if (!source.contains("attr") || !source["attr"].is_array()) return mask;
  for (const json& term : source["attr"]) {
    if (!term.is_string()) continue;
    const std::string& t = term.get_ref<const std::string&>();
    const std::size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    mask |= declared_colours({{t.substr(0, eq), t.substr(eq + 1)}});
  }
  return mask;
}

std::vector<IndexedObject> objects_from_document(const json& source) {
  std::vector<IndexedObject> out;
  if (!source.contains("objects") || !source["objects"].is_array()) return out;
  for (const json& o : source["objects"]) {
    IndexedObject object;
    object.image_n = o.value("image_n", 0);
    object.label = o.value("label", "");
    object.score = o.value("score", 0.F);
    if (o.contains("box") && o["box"].is_array() && o["box"].size() == 4) {
      object.box = ImageBox{o["box"][0].get<float>(), o["box"][1].get<float>(), o["box"][2].get<float>(),
                            o["box"][3].get<float>()};
    }
    if (o.contains("vec") && o["vec"].is_array()) object.embedding = o["vec"].get<std::vector<float>>();
    object.colour = colour_of_object(o);
    out.push_back(std::move(object));
  }
  return out;
}

// --- index definition ----------------------------------------------------------------------------------

json products_index_body(int dimension, int shards, int replicas, std::int64_t generation) {
  const json text = {{"type", "text"}, {"analyzer", "catalog_text"}};
  const json keyword_with_text = {
      {"type", "keyword"},
      {"fields", {{"lc", {{"type", "keyword"}, {"normalizer", "catalog_lower"}}}, {"text", text}}}};
  return {{"settings",
           {{"index", {{"knn", true}, {"number_of_shards", shards}, {"number_of_replicas", replicas}}},
            {"analysis",
             {{"normalizer",
               {{"catalog_lower", {{"type", "custom"}, {"filter", {"lowercase", "asciifolding"}}}}}},
              {"analyzer",
               {{"catalog_text",
                 {{"type", "custom"},
                  {"tokenizer", "standard"},
                  {"filter", {"lowercase", "asciifolding", "porter_stem"}}}}}}}}}},
          {"mappings",
           {{"dynamic", "strict"},
            {"_meta",
             {{"visearch_mapping_version", OpenSearchCatalog::kMappingVersion}, {"generation", generation}}},
            {"properties",
             {{"id", {{"type", "keyword"}}},
              {"title",
               {{"type", "text"},
                {"analyzer", "catalog_text"},
                {"fields",
                 {{"sort", {{"type", "keyword"}, {"normalizer", "catalog_lower"}, {"ignore_above", 512}}}}}}},
              {"description", text},
              {"category", keyword_with_text},
              {"brand", keyword_with_text},
              {"extra", text},
              {"attr", {{"type", "keyword"}}},
              {"price", {{"type", "double"}}},
              {"image_sha", {{"type", "keyword"}}},
              {"image_count", {{"type", "integer"}}},
              {"product", {{"type", "object"}, {"enabled", false}}},
              {"objects",
               {{"type", "nested"},
                {"properties",
                 {{"image_n", {{"type", "integer"}}},
                  {"label", {{"type", "keyword"}}},
                  {"score", {{"type", "float"}, {"index", false}}},
                  {"box", {{"type", "float"}, {"index", false}}},
                  {"colour", {{"type", "float"}, {"index", false}}},
                  {"vec",
                   {{"type", "knn_vector"},
                    {"dimension", dimension},
                    {"method",
                     {{"name", "hnsw"},
                      {"space_type", "cosinesimil"},
                      {"engine", "lucene"},
                      {"parameters", {{"m", 16}, {"ef_construction", 128}}}}}}}}}}}}}}}};
}

json filter_clauses(const ProductFilters& filters) {
  json clauses = json::array();
  if (!filters.category.empty())
    clauses.push_back({{"term", {{"category.lc", to_lower_ascii(filters.category)}}}});
  if (filters.min_price || filters.max_price) {
    json range = json::object();
    if (filters.min_price) range["gte"] = *filters.min_price;
    if (filters.max_price) range["lte"] = *filters.max_price;
    clauses.push_back({{"range", {{"price", range}}}});
  }
  for (const auto& [k, v] : filters.attributes)
    clauses.push_back({{"term", {{"attr", attribute_term(k, v)}}}});
  return clauses;
}

json text_fields() {
  json fields = json::array();
  for (const char* f : kTextFields) fields.push_back(f);
  return fields;
}

// Any of the phrases, each over every text field (scores add up across fields, as FTS5's bm25 sums its
// weighted columns).
json any_phrase_query(const std::vector<std::string>& phrases) {
  json should = json::array();
  for (const std::string& phrase : phrases) {
    if (phrase.empty()) continue;
    should.push_back({{"multi_match", {{"query", phrase}, {"type", "phrase"}, {"fields", text_fields()}}}});
  }
  return should;
}

json knn_score_script(std::span<const float> vector) {
  return {{"script_score",
           {{"query", {{"match_all", json::object()}}},
            {"script",
             {{"lang", "knn"},
              {"source", "knn_score"},
              {"params",
               {{"field", "objects.vec"},
                {"query_value", std::vector<float>(vector.begin(), vector.end())},
                {"space_type", "cosinesimil"}}}}}}}};
}

// The k-NN plugin scores cosinesimil as (1 + cos) / 2, in its knn query and its knn_score script alike
// (measured on 2.19.1: cos 0.6 -> 0.8).
double cosine_of_score(double score) {
  return 2.0 * score - 1.0;
}

// The image_n of a hit's best nested object (inner_hits named "best").
int best_image_of(const json& hit) {
  if (!hit.contains("inner_hits")) return 0;
  const json& inner = hit["inner_hits"];
  if (!inner.contains("best")) return 0;
  const json& hits = inner["best"]["hits"]["hits"];
  if (!hits.is_array() || hits.empty()) return 0;
  const json& source = hits[0].contains("_source") ? hits[0]["_source"] : json::object();
  return source.value("image_n", 0);
}

std::string error_reason(const std::string& body) {
  auto parsed = json::parse(body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object() && parsed.contains("error")) {
    const json& e = parsed["error"];
    if (e.is_object()) {
      std::string out = e.value("type", "");
      const std::string reason = e.value("reason", "");
      if (!reason.empty()) out += (out.empty() ? "" : ": ") + reason;
      if (!out.empty()) return printable_utf8(out, 400);
    }
    if (e.is_string()) return printable_utf8(e.get<std::string>(), 400);
  }
  return printable_utf8(body, 300);
}

std::string generation_index(const std::string& prefix, std::int64_t generation) {
  return prefix + "-products-g" + std::to_string(generation);
}

Result<std::int64_t> generation_of_index(const std::string& prefix, const std::string& index) {
  const std::string head = prefix + "-products-g";
  if (index.rfind(head, 0) != 0) return Error{ErrorCode::kIo, "alias points at unexpected index " + index};
  const std::string digits = index.substr(head.size());
  if (digits.empty() || digits.size() > 15 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error{ErrorCode::kIo, "alias points at unexpected index " + index};
  }
  return std::stoll(digits);
}

Result<opensearch::HttpClientOptions> http_options(const CatalogUri& uri, const CatalogOpenOptions& options) {
  opensearch::HttpClientOptions http;
  http.https = uri.https;
  http.hosts = uri.hosts;
  http.ca_file = options.ca_file;
  http.tls_verify = options.tls_verify;
  if (!options.credentials_file.empty()) {
    std::ifstream in(options.credentials_file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return Error{ErrorCode::kInvalidArgument,
                   "--catalog-credentials: cannot read " + options.credentials_file};
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.rfind("ApiKey ", 0) == 0) {
      http.api_key = line.substr(7);
    } else if (line.find(':') != std::string::npos) {
      http.basic_auth = line;
    } else {
      return Error{ErrorCode::kInvalidArgument, "--catalog-credentials: the first line of " +
                                                    options.credentials_file +
                                                    " must be user:password or ApiKey <key>"};
    }
  }
  return http;
}

}  // namespace

OpenSearchCatalog::OpenSearchCatalog(const CatalogUri& uri, const CatalogOpenOptions& options,
                                     LabelMapping mapping, opensearch::HttpClientOptions http)
    : uri_(uri), options_(options), mapping_(std::move(mapping)), http_(std::move(http)) {}

std::string OpenSearchCatalog::location() const {
  std::string hosts;
  for (const std::string& h : uri_.hosts) hosts += (hosts.empty() ? "" : ",") + h;
  return std::string(uri_.https ? "opensearch+https://" : "opensearch+http://") + hosts + "/" + uri_.prefix;
}

Result<std::unique_ptr<OpenSearchCatalog>> OpenSearchCatalog::open(const CatalogUri& uri,
                                                                   const CatalogOpenOptions& options) {
  auto mapping =
      LabelMapping::load(options.mapping_path.empty() ? default_label_mapping_path() : options.mapping_path);
  if (!mapping) return mapping.error();
  auto http = http_options(uri, options);
  if (!http) return http.error();
  auto catalog = std::make_unique<OpenSearchCatalog>(uri, options, std::move(*mapping), std::move(*http));
  auto info = catalog->call("GET", "/", nullptr);
  if (!info) return info.error();
  VISEARCH_TRY(catalog->ensure_support_indexes(options.create));
  auto serving = catalog->serving(true);
  if (!serving) return serving.error();
  if (!serving->index.empty()) VISEARCH_TRY(catalog->check_mapping_version(serving->index));
  return catalog;
}

Result<json> OpenSearchCatalog::call_raw(std::string_view method, const std::string& path,
                                         const std::string& body, std::string_view content_type, bool retry) {
  const int attempts = retry ? kRetries : 1;
  Error last{ErrorCode::kUnavailable, "OpenSearch did not answer"};
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
    auto reply = http_.request(method, path, body, content_type);
    if (!reply) {
      last = reply.error();
      continue;
    }
    if (reply->status >= 200 && reply->status < 300) {
      if (reply->body.empty()) return json::object();
      auto parsed = json::parse(reply->body, nullptr, false);
      if (parsed.is_discarded())
        return Error{ErrorCode::kIo, "OpenSearch answered " + path + " with invalid JSON"};
      return parsed;
    }
    const std::string reason = error_reason(reply->body);
    const std::string where = std::string(method) + " " + path + ": HTTP " + std::to_string(reply->status);
    if (reply->status == 401 || reply->status == 403) {
      return Error{ErrorCode::kUnauthorized, "OpenSearch at " + http_.base_url() +
                                                 " refused the credentials (" + where +
                                                 "); check --catalog-credentials"};
    }
    if (reply->status == 404) return Error{ErrorCode::kNotFound, "OpenSearch " + where + " (" + reason + ")"};
    if (reply->status == 409) return Error{ErrorCode::kConflict, "OpenSearch " + where + " (" + reason + ")"};
    if (reply->status == 429 || reply->status >= 500) {
      last = Error{ErrorCode::kUnavailable, "OpenSearch " + where + " (" + reason + ")"};
      continue;
    }
    return Error{ErrorCode::kInvalidArgument, "OpenSearch " + where + " (" + reason + ")"};
  }
  return last;
}

Result<json> OpenSearchCatalog::call(std::string_view method, const std::string& path, const json* body,
                                     bool retry) {
  return call_raw(method, path, body != nullptr ? body->dump() : std::string(), "application/json", retry);
}

Status OpenSearchCatalog::ensure_support_indexes(bool create) {
  const std::string meta = uri_.prefix + "-meta";
  const std::string images = uri_.prefix + "-images";
  auto exists = call("GET", "/" + meta + "/_doc/catalog", nullptr);
  if (exists) return ok_status();
  if (exists.error().code != ErrorCode::kNotFound) return exists.error();
  if (!create) {
    return Error{ErrorCode::kNotFound,
                 "no catalog '" + uri_.prefix + "' in OpenSearch at " + http_.base_url() +
                     "; import one first (visearch catalog import --catalog " + location() + " FILE)"};
  }
  const json small_index = {
      {"settings", {{"index", {{"number_of_shards", 1}, {"number_of_replicas", options_.replicas}}}}}};
  json meta_body = small_index;
  meta_body["mappings"] = {{"dynamic", false}, {"properties", {{"kind", {{"type", "keyword"}}}}}};
  auto made = call("PUT", "/" + meta, &meta_body, true);
  if (!made && made.error().code != ErrorCode::kInvalidArgument) return made.error();  // exists: fine
  json images_body = small_index;
  images_body["settings"]["index"]["number_of_shards"] = options_.shards;
  images_body["mappings"] = {
      {"dynamic", "strict"},
      {"properties",
       {{"content_type", {{"type", "keyword"}, {"index", false}}}, {"data", {{"type", "binary"}}}}}};
  made = call("PUT", "/" + images, &images_body, true);
  if (!made && made.error().code != ErrorCode::kInvalidArgument) return made.error();
  const json doc = {{"kind", "catalog"},
                    {"embedder", ""},
                    {"dimension", 0},
                    {"detector", ""},
                    {"mapping_version", kMappingVersion}};
  auto put = call("PUT", "/" + meta + "/_create/catalog?refresh=true", &doc, true);
  if (!put && put.error().code != ErrorCode::kConflict) return put.error();
  return ok_status();
}

Status OpenSearchCatalog::check_mapping_version(const std::string& index) {
  auto mapping = call("GET", "/" + index + "/_mapping", nullptr, true);
  if (!mapping) return mapping.error();
  int version = 0;
  if (mapping->contains(index)) {
    const json& m = (*mapping)[index]["mappings"];
    if (m.contains("_meta")) version = m["_meta"].value("visearch_mapping_version", 0);
  }
  if (version != kMappingVersion) {
    return Error{ErrorCode::kInvalidArgument,
                 "OpenSearch index " + index + " has mapping version " + std::to_string(version) +
                     " but this visearch writes version " + std::to_string(kMappingVersion) +
                     "; nothing was changed. Import the catalog under a new prefix (or `visearch catalog "
                     "migrate`) and switch to it"};
  }
  return ok_status();
}

Result<OpenSearchCatalog::Serving> OpenSearchCatalog::serving(bool fresh) {
  {
    std::lock_guard lock(cache_mutex_);
    if (!fresh && Clock::now() - serving_checked_ < kServingTtl) return serving_cache_;
  }
  const std::string alias = uri_.prefix + "-products";
  auto answer = call("GET", "/_alias/" + alias, nullptr);
  Serving out;
  if (!answer) {
    if (answer.error().code != ErrorCode::kNotFound) return answer.error();
  } else {
    for (const auto& [index, _] : answer->items()) {
      auto generation = generation_of_index(uri_.prefix, index);
      if (!generation) return generation.error();
      if (*generation > out.generation) out = Serving{index, *generation};
    }
  }
  std::lock_guard lock(cache_mutex_);
  serving_cache_ = out;
  serving_checked_ = Clock::now();
  return out;
}

Result<OpenSearchCatalog::Binding> OpenSearchCatalog::binding() {
  {
    std::lock_guard lock(cache_mutex_);
    if (binding_cache_ && binding_cache_->dimension > 0) return *binding_cache_;
  }
  auto doc = call("GET", "/" + uri_.prefix + "-meta/_doc/catalog", nullptr, true);
  if (!doc) return doc.error();
  const json& s = (*doc)["_source"];
  Binding b{s.value("embedder", ""), s.value("detector", ""), s.value("dimension", 0)};
  std::lock_guard lock(cache_mutex_);
  binding_cache_ = b;
  return b;
}

Status OpenSearchCatalog::bind_embedder(const std::string& embedder, int dimension,
                                        const std::string& detector) {
  auto current = binding();
  if (!current) return current.error();
  if (current->dimension > 0) {
    if (current->embedder != embedder || current->dimension != dimension) {
      return Error{ErrorCode::kInvalidArgument,
                   "the catalog was indexed with embedder " + current->embedder + " (" +
                       std::to_string(current->dimension) + " values); this run uses " + embedder + " (" +
                       std::to_string(dimension) + "): vectors of different models are not comparable"};
    }
    return ok_status();
  }
  const json update = {{"doc", {{"embedder", embedder}, {"dimension", dimension}, {"detector", detector}}}};
  auto done = call("POST", "/" + uri_.prefix + "-meta/_update/catalog?refresh=true", &update, true);
  if (!done) return done.error();
  std::lock_guard lock(cache_mutex_);
  binding_cache_ = Binding{embedder, detector, dimension};
  return ok_status();
}

Result<ProductImage> OpenSearchCatalog::store_image(std::span<const std::uint8_t> bytes, ImageFormat format) {
  ProductImage image;
  image.sha256 = sha256_hex(bytes);
  image.content_type = std::string(image_content_type(format));
  image.file = "opensearch:" + image.sha256;
  const std::string path = "/" + uri_.prefix + "-images/_doc/" + image.sha256;
  auto head = http_.request("HEAD", path);
  if (head && head->status == 200) return image;
  const json doc = {{"content_type", image.content_type}, {"data", base64_encode(bytes)}};
  auto put = call("PUT", path, &doc, true);
  if (!put) return put.error();
  return image;
}

Result<std::vector<std::uint8_t>> OpenSearchCatalog::image_bytes(const ProductImage& image) {
  auto doc = call("GET", "/" + uri_.prefix + "-images/_doc/" + image.sha256, nullptr, true);
  if (!doc) {
    if (doc.error().code == ErrorCode::kNotFound)
      return Error{ErrorCode::kIo, "image " + image.sha256 + " is missing from the catalog"};
    return doc.error();
  }
  auto bytes = decode_base64_text((*doc)["_source"].value("data", ""));
  if (!bytes) return Error{ErrorCode::kIo, "stored image " + image.sha256 + " is not valid base64"};
  return std::vector<std::uint8_t>(bytes->begin(), bytes->end());
}

Result<std::optional<std::vector<IndexedObject>>> OpenSearchCatalog::indexed_objects_for(
    const std::string& sha256) {
  using Out = std::optional<std::vector<IndexedObject>>;
  auto target = serving(false);
  if (!target) return target.error();
  if (target->index.empty()) return Out();
  const json body = {
      {"size", 1}, {"query", {{"term", {{"image_sha", sha256}}}}}, {"_source", {"product", "objects"}}};
  auto found = search_index(target->index, body);
  if (!found) return found.error();
  const json& hits = (*found)["hits"]["hits"];
  if (hits.empty()) return Out();
  const Product product = product_from_store(hits[0]["_source"]["product"]);
  int n = -1;
  for (const ProductImage& i : product.images) {
    if (i.sha256 == sha256) n = i.n;
  }
  std::vector<IndexedObject> objects;
  for (IndexedObject& o : objects_from_document(hits[0]["_source"])) {
    if (o.image_n == n) objects.push_back(std::move(o));
  }
  if (objects.empty()) return Out();
  return Out(std::move(objects));
}

Result<json> OpenSearchCatalog::search_index(const std::string& index, const json& body) {
  // A node that just died can leave some shards unanswered in a 200 reply: that answer would silently
  // miss products, so it is asked again (the replicas take over) before it counts as unavailable.
  Error last{ErrorCode::kUnavailable, ""};
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(150 << attempt));
    auto answer = call("POST", "/" + index + "/_search", &body, true);
    if (!answer) return answer.error();
    const int failed = answer->contains("_shards") ? (*answer)["_shards"].value("failed", 0) : 0;
    if (failed == 0 && !answer->value("timed_out", false)) return answer;
    last = Error{ErrorCode::kUnavailable, "OpenSearch answered a search on " + index + " with " +
                                              std::to_string(failed) + " shard(s) failed"};
  }
  return last;
}

Status OpenSearchCatalog::take_lock() {
  const std::string path = "/" + uri_.prefix + "-meta/_create/lock?refresh=true";
  char host[256] = {};  // NOLINT(cppcoreguidelines-avoid-c-arrays)
  gethostname(host, sizeof(host) - 1);
  const json doc = {
      {"kind", "lock"}, {"at", now_seconds()}, {"owner", std::string(host) + ":" + std::to_string(getpid())}};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto made = call("PUT", path, &doc, true);
    if (made) return ok_status();
    if (made.error().code != ErrorCode::kConflict) return made.error();
    auto held = call("GET", "/" + uri_.prefix + "-meta/_doc/lock", nullptr, true);
    if (!held) continue;  // released meanwhile
    const std::int64_t at = (*held)["_source"].value("at", std::int64_t{0});
    if (now_seconds() - at < kStaleLockSeconds) {
      return Error{ErrorCode::kUnavailable, "another import into catalog '" + uri_.prefix + "' is running (" +
                                                (*held)["_source"].value("owner", std::string("?")) +
                                                "); try again when it has finished"};
    }
    auto seq = (*held).value("_seq_no", std::int64_t{0});
    auto term = (*held).value("_primary_term", std::int64_t{0});
    static_cast<void>(call("DELETE",
                           "/" + uri_.prefix + "-meta/_doc/lock?if_seq_no=" + std::to_string(seq) +
                               "&if_primary_term=" + std::to_string(term),
                           nullptr));
  }
  return Error{ErrorCode::kUnavailable, "could not take the import lock of catalog '" + uri_.prefix + "'"};
}

void OpenSearchCatalog::release_lock() {
  static_cast<void>(call("DELETE", "/" + uri_.prefix + "-meta/_doc/lock?refresh=true", nullptr, true));
}

Result<UpsertResult> OpenSearchCatalog::write_generation(const std::vector<ProductRecord>& records,
                                                         const std::vector<std::string>& remove_ids,
                                                         std::vector<std::string>* removed) {
  std::lock_guard write_lock(write_mutex_);
  auto bound = binding();
  if (!bound) return bound.error();
  int dimension = bound->dimension;
  for (const ProductRecord& r : records) {
    for (const IndexedObject& o : r.objects) {
      if (!o.embedding.empty() && dimension == 0) dimension = static_cast<int>(o.embedding.size());
      if (!o.embedding.empty() && static_cast<int>(o.embedding.size()) != dimension) {
        return Error{ErrorCode::kInvalidArgument,
                     "product '" + r.product.id + "' has a vector of " + std::to_string(o.embedding.size()) +
                         " values; the catalog's have " + std::to_string(dimension)};
      }
    }
  }
  if (dimension == 0) {
    return Error{ErrorCode::kInvalidArgument,
                 "the catalog has no embedder yet: bind one before the first import"};
  }
  VISEARCH_TRY(take_lock());
  struct Unlock {
    OpenSearchCatalog* self;
    explicit Unlock(OpenSearchCatalog* catalog) : self(catalog) {}
    ~Unlock() { self->release_lock(); }
    Unlock(const Unlock&) = delete;
    Unlock& operator=(const Unlock&) = delete;
    Unlock(Unlock&&) = delete;
    Unlock& operator=(Unlock&&) = delete;
  } unlock(this);

  auto current = serving(true);
  if (!current) return current.error();
  const std::int64_t generation = current->generation + 1;
  const std::string index = generation_index(uri_.prefix, generation);
  // A failed import may have left this index behind: it never served, so it goes.
  auto gone = call("DELETE", "/" + index, nullptr, true);
  if (!gone && gone.error().code != ErrorCode::kNotFound) return gone.error();
  const json definition = products_index_body(dimension, options_.shards, options_.replicas, generation);
  auto made = call("PUT", "/" + index + "?wait_for_active_shards=1", &definition, true);
  if (!made) return made.error();

  const auto abandon = [&](Error error) -> Result<UpsertResult> {
    static_cast<void>(call("DELETE", "/" + index, nullptr));
    return error;
  };
  if (!current->index.empty()) {
    if (Status copied = copy_generation(current->index, index); !copied) return abandon(copied.error());
  }

  // _bulk in batches; items refused with 429 are sent again with back-off.
  UpsertResult result;
  result.generation = generation;
  const std::int64_t updated_at = now_seconds();
  std::vector<std::string> lines;  // (action + document) pairs, or a delete action alone
  std::vector<std::string> ids;
  for (const ProductRecord& r : records) {
    lines.push_back(json{{"index", {{"_id", r.product.id}}}}.dump() + "\n" +
                    product_document(r, updated_at).dump() + "\n");
    ids.push_back(r.product.id);
  }
  for (const std::string& id : remove_ids) {
    lines.push_back(json{{"delete", {{"_id", id}}}}.dump() + "\n");
    ids.push_back(id);
  }
  std::size_t next = 0;
  while (next < lines.size()) {
    std::vector<std::size_t> batch;
    std::size_t bytes = 0;
    while (next < lines.size() && batch.size() < kBulkDocuments &&
           (batch.empty() || bytes + lines[next].size() <= kBulkBytes)) {
      bytes += lines[next].size();
      batch.push_back(next++);
    }
    for (int attempt = 0; !batch.empty(); ++attempt) {
      if (attempt >= kRetries) {
        return abandon(Error{ErrorCode::kUnavailable, "OpenSearch kept refusing the import (429) after " +
                                                          std::to_string(kRetries) + " tries"});
      }
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
      std::string body;
      for (std::size_t i : batch) body += lines[i];
      auto answer = call_raw("POST", "/" + index + "/_bulk", body, "application/x-ndjson", true);
      if (!answer) return abandon(answer.error());
      std::vector<std::size_t> again;
      const json& items = (*answer)["items"];
      for (std::size_t k = 0; k < batch.size() && k < items.size(); ++k) {
        const json& item = items[k].begin().value();
        const int status = item.value("status", 0);
        const std::string outcome = item.value("result", "");
        if (status == 429 || status >= 500) {
          again.push_back(batch[k]);
        } else if (status >= 300 && !(status == 404 && outcome == "not_found")) {
          return abandon(Error{
              ErrorCode::kInvalidArgument,
              "OpenSearch refused product '" + printable_utf8(ids[batch[k]], 128) +
                  "': " + printable_utf8(item.contains("error") ? item["error"].dump() : outcome, 400)});
        } else if (outcome == "created") {
          ++result.inserted;
        } else if (outcome == "updated") {
          ++result.updated;
        } else if (outcome == "deleted" && removed != nullptr) {
          removed->push_back(ids[batch[k]]);
        }
      }
      batch = std::move(again);
    }
  }
  if (records.empty() && (removed == nullptr || removed->empty())) {
    static_cast<void>(abandon(Error{ErrorCode::kInternal, ""}));  // nothing changed: no new generation
    result.generation = current->generation;
    return result;
  }
  auto refreshed = call("POST", "/" + index + "/_refresh", nullptr, true);
  if (!refreshed) return abandon(refreshed.error());
  const std::string alias = uri_.prefix + "-products";
  json actions = json::array();
  if (!current->index.empty())
    actions.push_back({{"remove", {{"index", uri_.prefix + "-products-g*"}, {"alias", alias}}}});
  actions.push_back({{"add", {{"index", index}, {"alias", alias}}}});
  const json swap = {{"actions", actions}};
  auto switched = call("POST", "/_aliases", &swap, true);
  if (!switched) return abandon(switched.error());
  {
    std::lock_guard lock(cache_mutex_);
    serving_cache_ = Serving{index, generation};
    serving_checked_ = Clock::now();
  }
  // Keep the generation before this one (searches in flight may read it); delete older ones.
  auto all = call("GET", "/_cat/indices/" + uri_.prefix + "-products-g*?format=json&h=index", nullptr);
  if (all && all->is_array()) {
    for (const json& row : *all) {
      const std::string name = row.value("index", "");
      auto g = generation_of_index(uri_.prefix, name);
      if (g && *g < generation - 1) static_cast<void>(call("DELETE", "/" + name, nullptr));
    }
  }
  return result;
}

Status OpenSearchCatalog::copy_generation(const std::string& from, const std::string& to) {
  // Server-side first: the reindex module ships with every OpenSearch distribution. It runs as a task that
  // is polled, not as one long request: a large catalog takes longer to copy than any sensible request
  // timeout, and a timed-out request sent again would start a second copy into the same index.
  const json copy = {{"source", {{"index", from}}}, {"dest", {{"index", to}}}};
  auto started = call("POST", "/_reindex?wait_for_completion=false&refresh=false", &copy, false);
  if (started) {
    const std::string task = started->value("task", "");
    if (task.empty())
      return Error{ErrorCode::kIo,
                   "OpenSearch started no reindex task: " + printable_utf8(started->dump(), 300)};
    const auto deadline = Clock::now() + std::chrono::hours(6);
    while (Clock::now() < deadline) {
      auto status = call("GET", "/_tasks/" + task, nullptr, true);
      if (!status) return status.error();
      if (status->value("completed", false)) {
        const json& response = status->contains("response") ? (*status)["response"] : json::object();
        if (status->contains("error") || (response.contains("failures") && response["failures"].is_array() &&
                                          !response["failures"].empty())) {
          return Error{ErrorCode::kUnavailable,
                       "copying " + from + " failed: " + printable_utf8(status->dump(), 400)};
        }
        return ok_status();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return Error{ErrorCode::kUnavailable,
                 "copying " + from + " did not finish in 6 hours (task " + task + ")"};
  }
  if (started.error().code != ErrorCode::kInvalidArgument && started.error().code != ErrorCode::kNotFound) {
    return started.error();
  }
  // A cluster without _reindex (a minimal node, a managed service that leaves it out): page through the
  // serving generation in id order and write the same documents with _bulk.
  json after;
  for (;;) {
    json body = {
        {"size", 500}, {"sort", json::array({{{"id", "asc"}}})}, {"query", {{"match_all", json::object()}}}};
    if (!after.is_null()) body["search_after"] = after;
    auto page = search_index(from, body);
    if (!page) return page.error();
    const json& hits = (*page)["hits"]["hits"];
    if (hits.empty()) break;
    std::string bulk;
    for (const json& hit : hits) {
      bulk += json{{"index", {{"_id", hit.value("_id", "")}}}}.dump() + "\n" + hit["_source"].dump() + "\n";
      after = hit["sort"];
    }
    auto written = call_raw("POST", "/" + to + "/_bulk", bulk, "application/x-ndjson", true);
    if (!written) return written.error();
    if (written->value("errors", false)) {
      return Error{ErrorCode::kUnavailable,
                   "copying " + from + " into " + to + " failed part-way; nothing was switched"};
    }
  }
  return ok_status();
}

Result<UpsertResult> OpenSearchCatalog::upsert(const std::vector<ProductRecord>& records) {
  if (records.empty()) {
    auto current = serving(true);
    if (!current) return current.error();
    UpsertResult none;
    none.generation = current->generation;
    return none;
  }
  return write_generation(records, {}, nullptr);
}

Result<std::vector<std::string>> OpenSearchCatalog::remove(const std::vector<std::string>& ids) {
  std::vector<std::string> removed;
  if (ids.empty()) return removed;
  auto current = serving(true);
  if (!current) return current.error();
  if (current->index.empty()) return removed;
  auto written = write_generation({}, ids, &removed);
  if (!written) return written.error();
  return removed;
}

Result<std::optional<Product>> OpenSearchCatalog::get(const std::string& id) {
  using Out = std::optional<Product>;
  // The serving generation is cached for a second; a product another replica has just imported is looked
  // for again in the generation serving now before it counts as missing.
  for (const bool fresh : {false, true}) {
    auto target = serving(fresh);
    if (!target) return target.error();
    if (target->index.empty()) continue;
    const json body = {{"size", 1}, {"query", {{"ids", {{"values", {id}}}}}}, {"_source", {"product"}}};
    auto found = search_index(target->index, body);
    if (!found) return found.error();
    const json& hits = (*found)["hits"]["hits"];
    if (!hits.empty()) return Out(product_from_store(hits[0]["_source"]["product"]));
  }
  return Out();
}

Result<ProductPage> OpenSearchCatalog::query(const ProductQuery& query) {
  ProductPage page;
  auto target = serving(false);
  if (!target) return target.error();
  if (target->index.empty()) return page;
  if (query.offset + query.limit > kMaxWindow) {
    return Error{ErrorCode::kInvalidArgument,
                 "offset + limit must be at most " + std::to_string(kMaxWindow) +
                     " on an OpenSearch catalog; narrow the query with words or filters"};
  }
  json must = json::array();
  const std::string words = query.text;
  const bool has_words = std::any_of(words.begin(), words.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || static_cast<unsigned char>(c) >= 0x80;
  });
  if (has_words) {
    must.push_back(
        {{"multi_match",
          {{"query", words}, {"type", "bool_prefix"}, {"operator", "and"}, {"fields", text_fields()}}}});
  }
  json body = {{"from", query.offset},
               {"size", query.limit},
               {"track_total_hits", true},
               {"_source", {"product"}},
               {"query", {{"bool", {{"must", must}, {"filter", filter_clauses(query.filters)}}}}}};
  // As the SQLite engine lists: by relevance with words, else by title (case-insensitive), then id.
  body["sort"] = has_words ? json::array({"_score", {{"id", "asc"}}})
                           : json::array({{{"title.sort", "asc"}}, {{"id", "asc"}}});
  auto found = search_index(target->index, body);
  if (!found) return found.error();
  page.total = (*found)["hits"]["total"].value("value", std::int64_t{0});
  for (const json& hit : (*found)["hits"]["hits"])
    page.products.push_back(product_from_store(hit["_source"]["product"]));
  return page;
}

Result<CatalogStats> OpenSearchCatalog::stats() {
  CatalogStats stats;
  auto bound = binding();
  if (!bound) return bound.error();
  stats.embedder = bound->embedder;
  stats.dimension = bound->dimension;
  stats.detector = bound->detector;
  auto target = serving(false);
  if (!target) return target.error();
  stats.generation = target->generation;
  if (target->index.empty()) return stats;
  const json body = {{"size", 0},
                     {"track_total_hits", true},
                     {"aggs",
                      {{"images", {{"sum", {{"field", "image_count"}}}}},
                       {"categories", {{"terms", {{"field", "category"}, {"size", 1000}}}}},
                       {"objects",
                        {{"nested", {{"path", "objects"}}},
                         {"aggs", {{"n", {{"value_count", {{"field", "objects.image_n"}}}}}}}}}}}};
  auto found = search_index(target->index, body);
  if (!found) return found.error();
  stats.products = (*found)["hits"]["total"].value("value", std::int64_t{0});
  const json& aggs = (*found)["aggregations"];
  stats.images = static_cast<std::int64_t>(aggs["images"].value("value", 0.0));
  stats.vectors = aggs["objects"]["n"].value("value", std::int64_t{0});
  for (const json& bucket : aggs["categories"]["buckets"]) {
    const std::string key = bucket.value("key", "");
    if (!key.empty()) stats.categories[key] = bucket.value("doc_count", std::int64_t{0});
  }
  auto sizes = call("GET", "/" + target->index + "," + uri_.prefix + "-images/_stats/store", nullptr);
  if (sizes && sizes->contains("_all")) {
    stats.database_bytes = (*sizes)["_all"]["primaries"]["store"].value("size_in_bytes", std::uint64_t{0});
  }
  return stats;
}

Result<std::vector<std::pair<std::string, std::string>>> OpenSearchCatalog::product_categories() {
  std::vector<std::pair<std::string, std::string>> out;
  auto target = serving(true);
  if (!target) return target.error();
  if (target->index.empty()) return out;
  json after;
  for (;;) {
    json body = {{"size", 1000},
                 {"sort", json::array({{{"id", "asc"}}})},
                 {"_source", {"category"}},
                 {"query", {{"match_all", json::object()}}}};
    if (!after.is_null()) body["search_after"] = after;
    auto found = search_index(target->index, body);
    if (!found) return found.error();
    const json& hits = (*found)["hits"]["hits"];
    if (hits.empty()) break;
    for (const json& hit : hits) {
      out.emplace_back(hit.value("_id", ""), hit["_source"].value("category", ""));
      after = hit["sort"];
    }
  }
  return out;
}

Status OpenSearchCatalog::for_each_record(const std::function<Status(const ProductRecord&)>& visit) {
  auto target = serving(true);
  if (!target) return target.error();
  if (target->index.empty()) return ok_status();
  json after;
  for (;;) {
    json body = {{"size", 200},
                 {"sort", json::array({{{"id", "asc"}}})},
                 {"_source", {"product", "objects"}},
                 {"query", {{"match_all", json::object()}}}};
    if (!after.is_null()) body["search_after"] = after;
    auto found = search_index(target->index, body);
    if (!found) return found.error();
    const json& hits = (*found)["hits"]["hits"];
    if (hits.empty()) break;
    for (const json& hit : hits) {
      ProductRecord record{product_from_store(hit["_source"]["product"]),
                           objects_from_document(hit["_source"])};
      VISEARCH_TRY(visit(record));
      after = hit["sort"];
    }
  }
  return ok_status();
}

Status OpenSearchCatalog::check_available() {
  auto health = call("GET", "/_cluster/health", nullptr);
  if (!health) return health.error();
  const std::string status = health->value("status", "red");
  if (status == "red") {
    return Error{ErrorCode::kUnavailable, "the OpenSearch cluster at " + http_.base_url() + " is red"};
  }
  return ok_status();
}

Result<std::size_t> OpenSearchCatalog::warm() {
  auto s = stats();
  if (!s) return s.error();
  return static_cast<std::size_t>(s->vectors);
}

Result<SearchResult> OpenSearchCatalog::search(const std::vector<QueryObject>& objects,
                                               const SearchOptions& options) {
  if (options.limit < 1 || options.limit > 100)
    return Error{ErrorCode::kInvalidArgument, "limit must be in 1..100"};
  auto target = serving(false);
  if (!target) return target.error();
  auto bound = binding();
  if (!bound) return bound.error();
  auto result = search_once(objects, options, *target, bound->dimension);
  if (!result && result.error().code == ErrorCode::kNotFound) {
    // The generation it read was deleted by a newer import meanwhile: read the serving one.
    auto fresh = serving(true);
    if (!fresh) return fresh.error();
    return search_once(objects, options, *fresh, bound->dimension);
  }
  return result;
}

Result<SearchResult> OpenSearchCatalog::search_once(const std::vector<QueryObject>& objects,
                                                    const SearchOptions& options, const Serving& target,
                                                    int dimension) {
  const auto start = Clock::now();
  SearchResult result;
  result.generation = target.generation;
  result.index_kind = IndexKind::kHnsw;
  for (const QueryObject& object : objects) {
    if (!object.embedding.empty() && dimension > 0 &&
        object.embedding.size() != static_cast<std::size_t>(dimension)) {
      return Error{ErrorCode::kInvalidArgument,
                   "the query embedding has " + std::to_string(object.embedding.size()) +
                       " values but the catalog's embeddings have " + std::to_string(dimension) +
                       "; search with the model the catalog was indexed with"};
    }
  }
  if (target.index.empty()) {
    for (const QueryObject& object : objects) {
      ObjectMatches out{object, {}};
      out.object.embedding.clear();
      result.objects.push_back(std::move(out));
    }
    return result;
  }
  const std::string& index = target.index;
  const json filters = filter_clauses(options.filters);
  const bool filtered = !options.filters.empty();
  {
    const json body = {{"size", 0},
                       {"query", {{"bool", {{"filter", filters}}}}},
                       {"aggs",
                        {{"category", {{"terms", {{"field", "category"}, {"size", kMaxFacetValues}}}}},
                         {"brand", {{"terms", {{"field", "brand"}, {"size", kMaxFacetValues}}}}}}}};
    auto counted = search_index(index, body);
    if (!counted) return counted.error();
    for (const char* facet : {"category", "brand"}) {
      auto& counts = std::string(facet) == "category" ? result.facets.category : result.facets.brand;
      for (const json& bucket : (*counted)["aggregations"][facet]["buckets"]) {
        const std::string key = bucket.value("key", "");
        if (!key.empty()) counts[key] = bucket.value("doc_count", std::int64_t{0});
      }
    }
  }
  // The category decides the label part; the objects' colours and the attributes the colour part.
  const json category_source = json::array({"category", "attr", "objects.colour"});

  struct Found {
    double visual = -1;  // < 0: not scored yet
    double text_raw = 0;
    double query_raw = 0;
    std::string category;  // lower case
    bool known_category = false;
    std::vector<ColourProfile> colours;  // of the product's objects
    std::uint16_t declared_colours = 0;
  };
  // The shopper's words, once per search.
  std::unordered_map<std::string, double> words;
  double best_words = 0;
  const bool use_query = options.ranking == Ranking::kFused && !options.query_text.empty();
  if (use_query) {
    const json body = {{"size", kFullTextCandidates},
                       {"_source", false},
                       {"query",
                        {{"bool",
                          {{"must",
                            {{"multi_match",
                              {{"query", options.query_text},
                               {"type", "most_fields"},
                               {"operator", "or"},
                               {"fields", text_fields()}}}}},
                           {"filter", filters}}}}}};
    auto found = search_index(index, body);
    if (!found) return found.error();
    for (const json& hit : (*found)["hits"]["hits"]) {
      const double s = hit.value("_score", 0.0);
      words[hit.value("_id", "")] = s;
      best_words = std::max(best_words, s);
    }
  }

  for (const QueryObject& object : objects) {
    const bool use_visual = options.ranking != Ranking::kLabel && !object.embedding.empty();
    const bool use_label = options.ranking != Ranking::kVisual && !object.label.empty();
    const bool use_colour = options.ranking == Ranking::kFused && has_colour(object.colour);
    std::map<std::string, Found> found_by_id;
    const auto note_category = [](Found& f, const json& hit) {
      if (hit.contains("_source") && hit["_source"].is_object()) {
        const json& source = hit["_source"];
        f.category = to_lower_ascii(source.value("category", ""));
        f.known_category = true;
        f.colours.clear();
        if (source.contains("objects") && source["objects"].is_array()) {
          for (const json& o : source["objects"]) f.colours.push_back(colour_of_object(o));
        }
        f.declared_colours = declared_colours_of(source);
      }
    };
    if (use_visual) {
      const int k = std::clamp(options.limit * 20, 200, 2000);
      json body;
      if (filtered) {
        // Exact cosine over the filtered products, as SQLite scores every vector of the products that pass.
        body = {{"size", k},
                {"_source", category_source},
                {"query",
                 {{"bool",
                   {{"filter", filters},
                    {"must",
                     {{"nested",
                       {{"path", "objects"},
                        {"score_mode", "max"},
                        {"query", knn_score_script(object.embedding)}}}}}}}}}};
      } else {
        body = {{"size", k},
                {"_source", category_source},
                {"query",
                 {{"nested",
                   {{"path", "objects"},
                    {"score_mode", "max"},
                    {"query", {{"knn", {{"objects.vec", {{"vector", object.embedding}, {"k", k}}}}}}}}}}}};
      }
      auto hits = search_index(index, body);
      if (!hits) return hits.error();
      for (const json& hit : (*hits)["hits"]["hits"]) {
        Found& f = found_by_id[hit.value("_id", "")];
        const double s = hit.value("_score", 0.0);
        f.visual = cosine_of_score(s);
        note_category(f, hit);
      }
    }
    if (use_query) {
      for (const auto& [id, s] : words) found_by_id[id].query_raw = s;
    }
    double best_text = 0;
    std::unordered_set<std::string> label_categories;
    if (use_label) {
      const LabelTerms terms = mapping_.terms(object.label);
      for (const std::string& c : terms.categories) label_categories.insert(to_lower_ascii(c));
      const json should = any_phrase_query(terms.keywords);
      if (!should.empty()) {
        const json body = {
            {"size", kFullTextCandidates},
            {"_source", category_source},
            {"query", {{"bool", {{"should", should}, {"minimum_should_match", 1}, {"filter", filters}}}}}};
        auto hits = search_index(index, body);
        if (!hits) return hits.error();
        for (const json& hit : (*hits)["hits"]["hits"]) {
          Found& f = found_by_id[hit.value("_id", "")];
          f.text_raw = hit.value("_score", 0.0);
          best_text = std::max(best_text, f.text_raw);
          note_category(f, hit);
        }
      }
      if (!label_categories.empty()) {
        json terms_list = json::array();
        for (const std::string& c : label_categories) terms_list.push_back(c);
        json all_filters = filters;
        all_filters.push_back({{"terms", {{"category.lc", terms_list}}}});
        const json body = {{"size", kCategoryCandidates},
                           {"_source", category_source},
                           {"sort", json::array({{{"id", "asc"}}})},
                           {"query", {{"bool", {{"filter", all_filters}}}}}};
        auto hits = search_index(index, body);
        if (!hits) return hits.error();
        for (const json& hit : (*hits)["hits"]["hits"]) note_category(found_by_id[hit.value("_id", "")], hit);
      }
    }
    // Exact cosine (and the category) of candidates the k-NN did not return.
    std::vector<std::string> unscored;
    for (const auto& [id, f] : found_by_id) {
      if ((use_visual && f.visual < 0) || !f.known_category) unscored.push_back(id);
    }
    for (std::size_t at = 0; at < unscored.size(); at += 1000) {
      const std::vector<std::string> chunk(
          unscored.begin() + static_cast<std::ptrdiff_t>(at),
          unscored.begin() + static_cast<std::ptrdiff_t>(std::min(at + 1000, unscored.size())));
      json query = {{"bool", {{"filter", json::array({{{"ids", {{"values", chunk}}}}})}}}};
      if (use_visual) {
        query["bool"]["should"] = json::array({{{"nested",
                                                 {{"path", "objects"},
                                                  {"score_mode", "max"},
                                                  {"query", knn_score_script(object.embedding)}}}}});
      }
      const json body = {{"size", chunk.size()}, {"_source", category_source}, {"query", query}};
      auto hits = search_index(index, body);
      if (!hits) return hits.error();
      for (const json& hit : (*hits)["hits"]["hits"]) {
        Found& f = found_by_id[hit.value("_id", "")];
        if (use_visual && f.visual < 0) f.visual = std::max(cosine_of_score(hit.value("_score", 0.0)), 0.0);
        note_category(f, hit);
      }
    }
    std::vector<FusionCandidate> pool;
    pool.reserve(found_by_id.size());
    for (const auto& [id, f] : found_by_id) {
      if (!f.known_category) continue;  // deleted or filtered out
      FusionCandidate c;
      c.id = id;
      c.visual = std::max(f.visual, 0.0);
      c.in_label_category = use_label && label_categories.count(f.category) != 0;
      c.text_raw = f.text_raw;
      c.query_raw = f.query_raw;
      if (use_colour) c.colour = colour_agreement(object.colour, f.colours, f.declared_colours);
      pool.push_back(std::move(c));
    }
    FusionParams params;
    params.ranking = options.ranking;
    params.use_visual = use_visual;
    params.use_label = use_label;
    params.use_query = use_query;
    params.use_colour = use_colour;
    params.best_text = best_text;
    params.best_query = best_words;
    params.weights = mapping_.weights();
    params.min_score =
        options.min_score.value_or(mapping_.min_score(std::string(ranking_name(options.ranking))));
    params.limit = options.limit;
    if (options.candidate_sink) options.candidate_sink(object, pool, params);
    const std::vector<FusedCandidate> fused = fuse(pool, params);

    ObjectMatches out{object, {}};
    out.object.embedding.clear();
    if (!fused.empty()) {
      // The products themselves, and which of their images matched best.
      json ids = json::array();
      for (const FusedCandidate& f : fused) ids.push_back(pool[f.candidate].id);
      json query = {{"bool", {{"filter", json::array({{{"ids", {{"values", ids}}}}})}}}};
      if (use_visual) {
        query["bool"]["should"] = json::array(
            {{{"nested",
               {{"path", "objects"},
                {"score_mode", "max"},
                {"query", knn_score_script(object.embedding)},
                {"inner_hits", {{"name", "best"}, {"size", 1}, {"_source", {"objects.image_n"}}}}}}}});
      }
      const json body = {{"size", fused.size()}, {"_source", {"product"}}, {"query", query}};
      auto hits = search_index(index, body);
      if (!hits) return hits.error();
      std::unordered_map<std::string, std::pair<Product, int>> products;
      for (const json& hit : (*hits)["hits"]["hits"]) {
        products[hit.value("_id", "")] = {product_from_store(hit["_source"]["product"]), best_image_of(hit)};
      }
      for (const FusedCandidate& f : fused) {
        auto it = products.find(pool[f.candidate].id);
        if (it == products.end()) continue;
        out.products.push_back(
            ProductMatch{it->second.first, f.score, f.components, use_visual ? it->second.second : 0});
      }
    }
    result.objects.push_back(std::move(out));
  }
  result.rank_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return result;
}

}  // namespace visearch::search
