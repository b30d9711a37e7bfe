#include "server/search_module.h"
#include "core/json_text.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "model/embedder.h"
#include "model/model_repository.h"
#include "search/adapt/catalog_adapt.h"
#include "search/catalog.h"
#include "search/catalog_import.h"
#include "search/feedback_log.h"
#include "search/object_analysis.h"
#include "search/photo_search.h"
#include "search/search_json.h"
#include "search/text_util.h"

namespace visearch::server {
namespace {

using nlohmann::json;
using Req = httplib::Request;
using Res = httplib::Response;
using Clock = std::chrono::steady_clock;

constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Errors often quote the request (an id from the URL, a model name); JSON needs valid UTF-8.
void send_error(const ServerContext& ctx, Res& res, Error error) {
  error.message = search::printable_utf8(error.message, 1000);
  ctx.send_error(res, error);
}

// Everything the module holds; shared by the route closures and load().
struct SearchState {
  // Set once by register_routes, before the server listens or loads: HTTP threads and the model loader
  // only read it (issue 17: load() used to store it again on the loader thread while requests read it).
  ServerContext* ctx = nullptr;
  std::unique_ptr<search::Catalog> service;
  std::vector<std::unique_ptr<Embedder>> embedders;  // one per inference worker
  std::unique_ptr<search::FeedbackLog> feedback;     // null: --feedback-log off (or no folder for it)
  std::string feedback_off_reason;                   // why `feedback` is null
  std::atomic<bool> loaded{false};

  // A stale catalog adaptation is rebuilt on one background thread, with its own embedder and the settings
  // the adaptation was made with; another change meanwhile makes it run again when done. Searches use the
  // embedder's space until the new file is written. Stale means: after an import or delete over HTTP, at
  // start (the catalog changed while the server was down), or when a search answers from a newer catalog
  // generation than any before (an import or delete by another process, e.g. `catalog import --no-adapt`).
  std::mutex adapt_mutex;
  std::thread adapt_thread;    // guarded by adapt_mutex
  bool adapt_running = false;  // guarded by adapt_mutex
  bool adapt_again = false;    // guarded by adapt_mutex
  std::atomic<bool> adapt_stop{false};
  std::atomic<std::int64_t> seen_generation{-1};  // the newest catalog generation a search answered from

  SearchState() = default;
  SearchState(const SearchState&) = delete;
  SearchState& operator=(const SearchState&) = delete;
  SearchState(SearchState&&) = delete;
  SearchState& operator=(SearchState&&) = delete;
  ~SearchState() {
    adapt_stop.store(true);
    std::thread running;
    {
      std::lock_guard lock(adapt_mutex);
      running = std::move(adapt_thread);
    }
    if (running.joinable()) running.join();
  }

  // false (and an answer already sent) when search is not available.
  bool available(Res& res) const {
    if (!ctx->require_ready(res)) return false;
    if (!loaded.load(std::memory_order_acquire)) {
      ctx->send_error(
          res, Error{ErrorCode::kUnavailable,
                     "visual search is off: start `visearch serve` with --data-dir DIR (a catalog folder) or "
                     "--catalog URI"});
      return false;
    }
    return true;
  }
};

std::string param(const Req& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

Result<int> int_param(const Req& req, const char* name, int fallback, int low, int high) {
  const std::string text = param(req, name);
  if (text.empty()) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size() || value < low || value > high) {
    return Unexpected{ErrorCode::kInvalidArgument, std::string(name) + " must be an integer in " +
                                                       std::to_string(low) + ".." + std::to_string(high)};
  }
  return static_cast<int>(value);
}

void schedule_adaptation(SearchState& state);

Status load_search(SearchState& state) {
  ServerContext& ctx = *state.ctx;
  const ServerOptions& options = ctx.options();
  if (options.data_dir.empty() && options.catalog.empty())
    return ok_status();  // search off; routes explain why
  if (!options.data_dir.empty() && !options.catalog.empty()) {
    return Unexpected{ErrorCode::kInvalidArgument, "give --catalog or --data-dir, not both"};
  }
  auto index = search::parse_index_kind(options.search_index);
  if (!index) return index.error();
  search::CatalogOpenOptions catalog_options;
  catalog_options.uri = options.catalog.empty() ? "sqlite:" + options.data_dir : options.catalog;
  catalog_options.mapping_path = options.search_mapping;
  catalog_options.index = *index;
  // A folder is created empty; a cluster catalog must exist (a wrong prefix is an error at start, not a
  // silently empty shop).
  catalog_options.create = options.catalog.empty() || options.catalog.rfind("sqlite:", 0) == 0;
  catalog_options.credentials_file = options.catalog_credentials;
  catalog_options.ca_file = options.catalog_ca;
  catalog_options.tls_verify = !options.catalog_insecure;
  // An import by another process must not stall searches while a large HNSW index is rebuilt.
  catalog_options.serve_stale_while_rebuilding = true;
  auto service = search::open_catalog(catalog_options);
  if (!service) return service.error();

  const ModelRepository repository = ModelRepository::with_defaults(options.model_dirs);
  auto spec = repository.find_spec(options.embed_model);
  if (!spec) return spec.error();
  RuntimeOptions runtime;
  runtime.intra_op_threads = options.threads_per_worker;
  runtime.allow_spinning = false;
  std::vector<std::unique_ptr<Embedder>> embedders;
  for (std::size_t w = 0; w < ctx.workers(); ++w) {
    auto embedder = Embedder::load(*spec, repository, runtime);
    if (!embedder) return embedder.error();
    embedders.push_back(std::move(*embedder));
  }
  const std::shared_ptr<const DetectService> detect = ctx.detect_service(0);
  VISEARCH_TRY(
      (*service)->bind_embedder(spec->name, embedders.front()->dimension(), detect->default_model()));
  // Build the index now so the first search does not pay for it.
  auto vectors = (*service)->warm();
  if (!vectors) return vectors.error();
  const std::string location = (*service)->location();
  std::string feedback_dir = options.feedback_dir;
  if (options.feedback_log && feedback_dir.empty()) {
    auto uri = search::parse_catalog_uri(catalog_options.uri);
    if (uri && uri->engine == search::CatalogUri::Engine::kSqlite) feedback_dir = uri->path + "/feedback";
  }
  if (options.feedback_log && !feedback_dir.empty()) {
    search::FeedbackLogOptions feedback_options;
    feedback_options.dir = feedback_dir;
    auto feedback = search::FeedbackLog::open(feedback_options);
    // Search does not depend on the log: a folder that cannot be written leaves the log off, said once.
    if (feedback) {
      state.feedback = std::move(*feedback);
    } else {
      state.feedback_off_reason = "it cannot be written: " + feedback.error().message;
    }
  } else if (options.feedback_log) {
    state.feedback_off_reason = "a catalog that is not a folder needs --feedback-dir";
  } else {
    state.feedback_off_reason = "visearch serve --feedback-log off";
  }
  std::fprintf(stderr, "{\"event\":\"feedback_log\",\"on\":%s,\"dir\":%s,\"off_reason\":%s}\n",
               state.feedback ? "true" : "false",
               to_json_text(json(state.feedback ? state.feedback->dir() : std::string())).c_str(),
               to_json_text(json(state.feedback_off_reason)).c_str());
  state.service = std::move(*service);
  state.embedders = std::move(embedders);
  state.loaded.store(true, std::memory_order_release);
  std::fprintf(stderr, "{\"event\":\"search_ready\",\"catalog\":%s,\"vectors\":%zu,\"embed_model\":%s}\n",
               to_json_text(json(location)).c_str(), *vectors, to_json_text(json(spec->name)).c_str());
  // The catalog may have changed while the server was down, leaving its adaptation stale.
  auto stats = state.service->stats();
  if (stats) state.seen_generation.store(stats->generation);
  schedule_adaptation(state);
  return ok_status();
}

// A search answered from a catalog generation newer than any before: another process may have changed the
// catalog, so its adaptation may be stale (checked once per generation, not per search).
void check_generation(SearchState& state, const json& answer) {
  if (!answer.contains("catalog") || !answer["catalog"].is_object()) return;
  const std::int64_t generation = answer["catalog"].value("generation", std::int64_t{-1});
  std::int64_t seen = state.seen_generation.load();
  while (generation > seen) {
    if (state.seen_generation.compare_exchange_weak(seen, generation)) {
      if (seen >= 0) schedule_adaptation(state);  // the first search only learns the generation
      return;
    }
  }
}

void handle_search(SearchState& state, const Req& req, Res& res) {
  ServerContext& ctx = *state.ctx;
  if (!state.available(res)) return;
  const auto started = Clock::now();
  auto parsed = parse_image_request(http_input(req));
  if (!parsed) return send_error(ctx, res, parsed.error());
  auto parameters = search::parse_search_parameters(parsed->extra);
  if (!parameters) return send_error(ctx, res, parameters.error());
  const std::shared_ptr<const DetectService> front = ctx.detect_service(0);
  const std::string model = parsed->model.empty() ? front->default_model() : parsed->model;
  const Detector* detector = front->find(model);
  if (detector == nullptr)
    return send_error(ctx, res, Error{ErrorCode::kNotFound, "model '" + model + "' is not loaded"});
  search::QueryAnalysisOptions analysis_options;
  analysis_options.detect = parsed->options;
  analysis_options.region = parameters->box;
  if (parsed->options.max_detections) analysis_options.max_objects = *parsed->options.max_detections;
  if (!parsed->classes.empty()) {
    auto ids = parse_class_list(detector->spec(), parsed->classes);
    if (!ids) return send_error(ctx, res, ids.error());
    analysis_options.detect.classes = *ids;
  }
  std::string source = "request";
  for (const auto& [name, file] : req.files) {
    if (name == "image" && !file.filename.empty()) source = search::printable_utf8(file.filename);
  }

  struct Work {
    std::string image;
    std::string model;
    search::QueryAnalysisOptions options;
    std::optional<Result<search::PhotoAnalysis>> photo;
  };
  auto work = std::make_shared<Work>();
  work->image = std::move(parsed->image);
  work->model = model;
  work->options = analysis_options;
  // The SearchState outlives the server's workers (captured by the module's closures until shutdown).
  SearchState* shared_state = &state;
  auto ran = ctx.run_on_worker([shared_state, work](std::size_t worker) {
    const DetectLease lease = shared_state->ctx->lease_detect_service(worker);
    const DetectService& service = *lease;
    const Detector* job_detector = service.find(work->model);
    if (job_detector == nullptr) {  // unloaded since the request was checked
      work->photo = Error{ErrorCode::kNotFound, "model '" + work->model + "' is not loaded"};
      return;
    }
    work->photo = search::analyse_photo(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(work->image.data()),  // NOLINT
                                      work->image.size()),
        service.limits(), *job_detector, *shared_state->embedders.at(worker), work->options);
  });
  if (!ran) return send_error(ctx, res, ran.error());
  if (!work->photo || !*work->photo) {
    return ctx.send_error(res,
                          work->photo ? work->photo->error() : Error{ErrorCode::kInternal, "no analysis"});
  }
  const search::PhotoAnalysis& photo = **work->photo;
  auto answer = search::answer_photo_search(*state.service, photo, parameters->options,
                                            {source, model, ctx.options().embed_model, started});
  if (!answer) return send_error(ctx, res, answer.error());
  answer->body["request_id"] = res.get_header_value("X-Request-Id");
  ctx.send_json(res, 200, answer->body);
  check_generation(state, answer->body);
  if (state.feedback) {
    // What a replay of this search needs (docs/feedback.md), without the photo. A failed write costs the
    // shopper nothing: it is reported in the server log.
    auto logged = state.feedback->append(search::feedback_search_event(
        res.get_header_value("X-Request-Id"), photo.analysis.objects, parameters->options));
    if (!logged) {
      std::fprintf(stderr, "{\"event\":\"feedback_log_error\",\"message\":%s}\n",
                   to_json_text(json(logged.error().message)).c_str());
    }
  }
  // The same histograms as detection (issue 11): a search's decode, its model work (detection and
  // embedding) and the whole request.
  ctx.metrics().latency_decode.observe(photo.decode_ms / 1000.0);
  ctx.metrics().latency_inference.observe((photo.analysis.detect_ms + photo.analysis.embed_ms) / 1000.0);
  ctx.metrics().latency_total.observe(ms_since(started) / 1000.0);
}

// POST /v1/search/feedback: the shopper page's "shown" and "open" events (search/feedback_log.h).
void handle_feedback(SearchState& state, const Req& req, Res& res) {
  ServerContext& ctx = *state.ctx;
  if (!state.available(res)) return;
  if (!state.feedback) {
    return send_error(
        ctx, res, Error{ErrorCode::kNotFound, "the feedback log is off (" + state.feedback_off_reason + ")"});
  }
  if (media_type(req.get_header_value("Content-Type")) != "application/json") {
    return send_error(ctx, res,
                      Error{ErrorCode::kUnsupportedMediaType, "send the feedback event as application/json"});
  }
  auto event = search::parse_feedback_body(req.body);
  if (!event) return send_error(ctx, res, event.error());
  auto logged = state.feedback->append(*event);
  if (!logged) return send_error(ctx, res, logged.error());
  ctx.send_json(res, 200,
                json{{"logged", (*event)["event"]}, {"request_id", res.get_header_value("X-Request-Id")}});
}

void handle_list(SearchState& state, const Req& req, Res& res) {
  ServerContext& ctx = *state.ctx;
  if (!state.available(res)) return;
  search::ProductQuery query;
  query.text = param(req, "q");
  auto limit = int_param(req, "limit", kDefaultPageSize, 1, kMaxPageSize);
  if (!limit) return send_error(ctx, res, limit.error());
  auto offset = int_param(req, "offset", 0, 0, 100000000);
  if (!offset) return send_error(ctx, res, offset.error());
  query.limit = *limit;
  query.offset = *offset;
  std::map<std::string, std::string> filters;
  for (const auto& [name, value] : req.params) {
    if (name == "category" || name == "min_price" || name == "max_price" || name == "attributes" ||
        name.rfind("attr.", 0) == 0) {
      filters[name] = value;
    }
  }
  auto parameters = search::parse_search_parameters(filters);
  if (!parameters) return send_error(ctx, res, parameters.error());
  query.filters = parameters->options.filters;
  auto page = state.service->query(query);
  if (!page) return send_error(ctx, res, page.error());
  json products = json::array();
  for (const search::Product& p : page->products) products.push_back(search::product_to_json(p));
  ctx.send_json(
      res, 200,
      json{{"total", page->total}, {"limit", query.limit}, {"offset", query.offset}, {"products", products}});
}

void run_adaptations(SearchState& state) {
  std::unique_ptr<Embedder> embedder;
  const auto log = [](const char* event, const std::string& detail) {
    std::fprintf(stderr, "{\"event\":\"%s\",\"detail\":%s}\n", event, to_json_text(json(detail)).c_str());
  };
  for (;;) {
    {
      std::lock_guard lock(state.adapt_mutex);
      state.adapt_again = false;
    }
    if (!embedder) {  // its own: the inference workers' embedders stay with the requests
      const ServerOptions& options = state.ctx->options();
      const ModelRepository repository = ModelRepository::with_defaults(options.model_dirs);
      auto spec = repository.find_spec(options.embed_model);
      RuntimeOptions runtime;
      runtime.intra_op_threads = 1;
      runtime.allow_spinning = false;
      auto loaded =
          spec ? Embedder::load(*spec, repository, runtime) : Result<std::unique_ptr<Embedder>>(spec.error());
      if (loaded)
        embedder = std::move(*loaded);
      else
        log("adaptation_failed", loaded.error().message);
    }
    if (embedder) {
      auto rebuilt = search::rebuild_options(*state.service, {});
      search::AdaptOptions options =
          rebuilt ? std::move(*rebuilt) : search::AdaptOptions{};  // unreadable: defaults
      options.stop = &state.adapt_stop;
      options.train.threads = 1;
      auto report = search::adapt_catalog(*state.service, *embedder, options);
      if (!report) {
        log("adaptation_failed", report.error().message);
      } else {
        std::fprintf(stderr, "{\"event\":\"adaptation_rebuilt\",\"report\":%s}\n",
                     to_json_text(report->to_json()).c_str());
      }
    }
    std::lock_guard lock(state.adapt_mutex);
    if (!state.adapt_again || state.adapt_stop.load()) {
      state.adapt_running = false;
      return;
    }
  }
}

// After a committed import or delete: rebuild the catalog's adaptation if it has one that is now stale.
void schedule_adaptation(SearchState& state) {
  auto stale = search::adaptation_is_stale(*state.service);
  if (!stale || !*stale) return;
  std::lock_guard lock(state.adapt_mutex);
  if (state.adapt_stop.load()) return;
  if (state.adapt_running) {
    state.adapt_again = true;
    return;
  }
  state.adapt_running = true;
  // A previous thread cleared adapt_running as its last step: joining it is quick.
  if (state.adapt_thread.joinable()) state.adapt_thread.join();
  state.adapt_thread = std::thread([&state] { run_adaptations(state); });
}

void handle_import(SearchState& state, const Req& req, Res& res) {
  ServerContext& ctx = *state.ctx;
  if (!state.available(res)) return;
  const std::string type = media_type(req.get_header_value("Content-Type"));
  search::ImportFormat format = search::ImportFormat::kJson;
  if (type == "application/json") {
    format = search::ImportFormat::kJson;
  } else if (type == "application/x-ndjson" || type == "application/jsonl" ||
             type == "application/x-jsonlines") {
    format = search::ImportFormat::kJsonl;
  } else if (type == "text/csv") {
    format = search::ImportFormat::kCsv;
  } else {
    return send_error(ctx, res,
                      Error{ErrorCode::kUnsupportedMediaType,
                            "send products as application/json ({\"products\": [...]} or [...]), "
                            "application/x-ndjson (JSON Lines) or text/csv"});
  }
  const std::string strict_text = param(req, "strict");
  if (!strict_text.empty() && strict_text != "true" && strict_text != "false" && strict_text != "1" &&
      strict_text != "0") {
    return send_error(ctx, res, Error{ErrorCode::kInvalidArgument, "strict must be true or false"});
  }
  search::ParseOptions parse_options;
  parse_options.allow_paths = false;
  parse_options.max_rows = 10000;
  const search::ParsedCatalog parsed = search::parse_catalog(req.body, format, parse_options);
  SearchState* shared_state = &state;
  const search::AnalyzeImageFn analyze =
      [shared_state](std::span<const std::uint8_t> bytes) -> Result<search::AnalyzedImage> {
    auto work = std::make_shared<
        std::pair<std::vector<std::uint8_t>, std::optional<Result<search::AnalyzedImage>>>>();
    work->first.assign(bytes.begin(), bytes.end());
    auto ran = shared_state->ctx->run_on_worker([shared_state, work](std::size_t worker) {
      const DetectLease lease = shared_state->ctx->lease_detect_service(worker);
      const DetectService& service = *lease;
      work->second =
          search::analyse_product_photo(work->first, service.limits(), *service.find(service.default_model()),
                                        *shared_state->embedders.at(worker));
    });
    if (!ran) return ran.error();
    if (!work->second) return Error{ErrorCode::kInternal, "image analysis produced nothing"};
    return std::move(*work->second);
  };
  search::ImportOptions options;
  options.strict = strict_text == "true" || strict_text == "1";
  auto report = search::import_catalog(*state.service, parsed, analyze, options);
  if (!report) return send_error(ctx, res, report.error());
  if (report->committed) {
    static_cast<void>(state.service->warm());  // warm the index
    schedule_adaptation(state);
  }
  json body = search::import_report_to_json(*report);
  body["request_id"] = res.get_header_value("X-Request-Id");
  if (!report->committed && !report->errors.empty()) {
    body["error"] = {
        {"code", "invalid_argument"},
        {"message", std::to_string(report->errors.size()) + " product(s) failed" +
                        (options.strict ? "; nothing imported (strict)" : "; nothing to import")}};
    return ctx.send_json(res, 400, body);
  }
  ctx.send_json(res, 200, body);
}

void handle_get(SearchState& state, const Req& req, Res& res) {
  ServerContext& ctx = *state.ctx;
  if (!state.available(res)) return;
  const std::string id = req.matches[1];
  auto product = state.service->get(id);
  if (!product) return send_error(ctx, res, product.error());
  if (!product->has_value())
    return send_error(ctx, res, Error{ErrorCode::kNotFound, "no product with id '" + id + "'"});
  ctx.send_json(res, 200, search::product_to_json(**product));
}

void handle_delete(SearchState& state, const Req& req, Res& res) {
  ServerContext& ctx = *state.ctx;
  if (!state.available(res)) return;
  const std::string id = req.matches[1];
  auto removed = state.service->remove({id});
  if (!removed) return send_error(ctx, res, removed.error());
  if (!removed->empty()) schedule_adaptation(state);
  if (removed->empty())
    return send_error(ctx, res, Error{ErrorCode::kNotFound, "no product with id '" + id + "'"});
  ctx.send_json(res, 200, json{{"deleted", id}});
}

void handle_image(SearchState& state, const Req& req, Res& res) {
  ServerContext& ctx = *state.ctx;
  if (!state.available(res)) return;
  const std::string id = req.matches[1];
  const std::string n_text = req.matches[2];
  if (n_text.size() > 4) return send_error(ctx, res, Error{ErrorCode::kNotFound, "no image " + n_text});
  const int n = std::stoi(n_text);
  auto product = state.service->get(id);
  if (!product) return send_error(ctx, res, product.error());
  if (!product->has_value())
    return send_error(ctx, res, Error{ErrorCode::kNotFound, "no product with id '" + id + "'"});
  const search::ProductImage* image = nullptr;
  for (const search::ProductImage& candidate : (*product)->images) {
    if (candidate.n == n) image = &candidate;
  }
  if (image == nullptr) {
    return ctx.send_error(
        res, Error{ErrorCode::kNotFound, "product '" + id + "' has no image " + std::to_string(n)});
  }
  const std::string etag = "\"" + image->sha256 + "\"";
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "public, max-age=300");
  res.set_header("X-Content-Type-Options", "nosniff");
  if (req.get_header_value("If-None-Match") == etag) {
    res.status = 304;
    return;
  }
  // The path comes from the catalog (content-addressed, written by visearch), never from the URL.
  auto bytes = state.service->image_bytes(*image);
  if (!bytes) {
    if (bytes.error().code == ErrorCode::kUnavailable) return send_error(ctx, res, bytes.error());
    return send_error(ctx, res, Error{ErrorCode::kIo, "image file of product '" + id + "' is unreadable"});
  }
  res.status = 200;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes as chars for the body
  res.set_content(reinterpret_cast<const char*>(bytes->data()), bytes->size(), image->content_type);
}

void handle_catalog(SearchState& state, const Req&, Res& res) {
  ServerContext& ctx = *state.ctx;
  if (!state.available(res)) return;
  auto stats = state.service->stats();
  if (!stats) return send_error(ctx, res, stats.error());
  ctx.send_json(res, 200, search::stats_to_json(*stats));
}

}  // namespace

ServerModule search_module() {
  auto state = std::make_shared<SearchState>();
  ServerModule module;
  module.name = "search";
  module.register_routes = [state](ServerContext& ctx) {
    state->ctx = &ctx;
    const auto bind = [state](void (*handler)(SearchState&, const Req&, Res&)) {
      return [state, handler](const Req& req, Res& res) { handler(*state, req, res); };
    };
    ctx.route("/v1/search", {{"POST", bind(handle_search)}});
    ctx.route("/v1/search/feedback", {{"POST", bind(handle_feedback)}});
    ctx.route("/v1/catalog", {{"GET", bind(handle_catalog)}});
    ctx.route("/v1/products", {{"GET", bind(handle_list)}, {"POST", bind(handle_import)}});
    ctx.route(R"(/v1/products/([^/]+))", {{"GET", bind(handle_get)}, {"DELETE", bind(handle_delete)}});
    ctx.route(R"(/v1/products/([^/]+)/images/([0-9]+))", {{"GET", bind(handle_image)}});
  };
  module.is_public_route = [](const Req& req) {
    if (req.method == "POST") return req.path == "/v1/search" || req.path == "/v1/search/feedback";
    if (req.method != "GET" && req.method != "HEAD") return false;
    return req.path == "/v1/catalog" || req.path == "/v1/products" || req.path.rfind("/v1/products/", 0) == 0;
  };
  module.load = [state](ServerContext& ctx) -> Status {
    if (state->ctx != &ctx) return Unexpected{ErrorCode::kInternal, "search module loaded before its routes"};
    return load_search(*state);
  };
  module.check_ready = [state]() -> Status {
    if (!state->loaded.load(std::memory_order_acquire)) return ok_status();
    return state->service->check_available();
  };
  return module;
}

}  // namespace visearch::server
