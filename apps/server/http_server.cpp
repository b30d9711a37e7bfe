#include "server/http_server.h"
#include "core/json_text.h"

#include "server/connection_gate.h"
#include "server/embedded_files.h"
#include "server/server_context.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include "core/error_table.h"
#include "families/all_families.h"
#include "model/model_repository.h"
#include "service/detect_service.h"
#include "service/image_request.h"
#include "service/inference_pool.h"
#include "service/kserve.h"
#include "service/metrics.h"

namespace visearch::server {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr const char* kJson = "application/json";
// How long a kept-alive connection may wait for its next request (announced in Keep-Alive: timeout=).
// Waiting connections cost no thread (connection_gate.h), so this can outlast a client pool's idle time.
constexpr int kKeepAliveSeconds = 30;

// The service's own routes, as opposed to the static web UI files served beside them.
bool is_api_path(std::string_view path) {
  return path.starts_with("/v1/") || path.starts_with("/v2/") || path == "/v2" || path == "/ping" ||
         path == "/metrics" || path == "/invocations";
}

// Threads of the solo session set, 0 when off (see ServerOptions::solo_threads).
int effective_solo_threads(const ServerOptions& options) {
  const int wanted = options.solo_threads >= 0
                         ? options.solo_threads
                         : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  return wanted > options.threads_per_worker ? wanted : 0;
}

int connections_that_fit(int wanted);

// The connection gate's limits (connection_gate.h) from the server's options.
GateOptions gate_options(const ServerOptions& options) {
  GateOptions gate;
  gate.request_threads = options.http_threads;
  gate.max_connections = connections_that_fit(options.max_connections);
  if (gate.max_connections < options.max_connections) {
    std::fprintf(stderr,
                 "visearch: warning: --max-connections %d does not fit the open-file limit; using %d "
                 "(raise `ulimit -n`)\n",
                 options.max_connections, gate.max_connections);
  }
  gate.max_connections_per_client = options.max_connections_per_client;
  gate.head_timeout = std::chrono::milliseconds(options.head_timeout_ms);
  gate.idle_timeout = std::chrono::seconds(kKeepAliveSeconds);
  gate.io_timeout = std::chrono::milliseconds(options.io_timeout_ms);
  gate.min_body_bytes_per_second = static_cast<std::size_t>(options.min_body_kb_per_s) * 1024U;
  return gate;
}

// Raises the soft limit on open files to the hard limit (connections are files), and returns how many
// connections fit in it beside the files the server itself holds.
int connections_that_fit(int wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  constexpr rlim_t kReserved = 256;  // models, catalog, logs, pipes, the listening socket
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > static_cast<rlim_t>(wanted) + kReserved)
    return wanted;
  return static_cast<int>(limit.rlim_cur > kReserved * 2 ? limit.rlim_cur - kReserved : limit.rlim_cur / 2);
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string random_request_id() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    static std::atomic<std::uint64_t> counter{0};
    return "req-" + std::to_string(++counter);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4U]);
    id.push_back(kHex[b & 0xFU]);
  }
  return id;
}

// A caller-supplied id is echoed when it is short and printable; otherwise replaced.
std::string sanitise_request_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return random_request_id();
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':')) {
      return random_request_id();
    }
  }
  return id;
}

std::array<unsigned char, SHA256_DIGEST_LENGTH> sha256_of(const std::string& text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());  // NOLINT
  return digest;
}

// Whether the request carries a body (which httplib reads only when a route asks for it).
bool has_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  const std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length != "0";
}

// Makes `res` close the connection once it is written. For a request whose body was not read, or only
// partly: what follows on the connection is the rest of that body, never a next request. httplib 0.11
// closes a connection when a content provider fails, so the reply is written by a provider that fails
// after its last byte (the client gets the whole reply, then the end of the connection).
void close_after_reply(httplib::Response& res) {
  if (res.body.empty()) res.body = "{}";
  auto body = std::make_shared<const std::string>(std::move(res.body));
  res.body.clear();
  const std::string type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");  // set_content_provider sets it again
  res.set_header("Connection", "close");
  res.set_content_provider(body->size(), type,
                           [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false;
                           });
}

// Signals caught by the server (see Server::run): the handler only writes the signal's number to a pipe.
std::array<int, 2> g_signal_pipe{-1, -1};

extern "C" void on_server_signal(int number) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(number);
  [[maybe_unused]] const ssize_t written = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

// Blocks until a caught signal arrives; returns its number.
int next_signal() {
  unsigned char byte = 0;
  while (true) {
    // Wait in poll() with a timeout, then read. A ThreadSanitizer build (gcc 12) defers a signal's handler
    // until the thread it landed on leaves a library call: a read() or an endless poll() on the pipe would
    // never return, so SIGTERM would never be handled. Five wake-ups a second cost nothing.
    pollfd ready{g_signal_pipe[0], POLLIN, 0};
    if (::poll(&ready, 1, 200) < 0 && errno != EINTR) return SIGTERM;
    if ((ready.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    const ssize_t got = ::read(g_signal_pipe[0], &byte, 1);
    if (got == 1) return byte;
    if (got < 0 && errno != EINTR) return SIGTERM;
  }
}

// Per request, on the HTTP thread that handles it (httplib runs routing, the handler and the logger on one
// thread): the route pattern it matched, for the metrics' `route` label, and whether the pre-routing handler
// saw it (requests httplib refuses before routing, such as a 414 or a garbage request line, never do).
thread_local std::string t_route_label;
thread_local bool t_counted_in_flight = false;

// "/v1/products/([^/]+)" -> "/v1/products/{id}": a route pattern as a bounded metrics label.
std::string route_label(const std::string& pattern) {
  static const std::vector<std::pair<std::string, std::string>> kNames{
      {"/v1/models/", "{name}"}, {"/v2/models/", "{name}"}, {"/v1/label/images/", "{id}"}};
  std::string label;
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '(') {
      int depth = 0;
      std::size_t j = i;
      for (; j < pattern.size(); ++j) {
        if (pattern[j] == '(') ++depth;
        if (pattern[j] == ')' && --depth == 0) break;
      }
      std::string name = "{id}";
      for (const auto& [prefix, param] : kNames) {
        if (label.ends_with(prefix)) name = param;
      }
      label += name;
      i = j + 1;
    } else {
      label += pattern[i++];
    }
  }
  return label;
}

class Server final : public ServerContext {
 public:
  Server(ServerOptions options, std::vector<ServerModule> modules)
      : options_(std::move(options)), modules_(std::move(modules)), http_(gate_options(options_)) {}

  int run();

  // ServerContext
  void route(const std::string& pattern,
             const std::vector<std::pair<std::string, Handler>>& handlers) override;
  void send_json(httplib::Response& res, int status, const json& body) const override;
  void send_error(httplib::Response& res, const Error& error) const override;
  bool require_ready(httplib::Response& res) const override;
  Status run_on_worker(std::function<void(std::size_t worker_index)> job) override;
  [[nodiscard]] std::shared_ptr<const DetectService> detect_service(std::size_t worker_index) const override {
    return model_set()->workers.at(worker_index);
  }
  [[nodiscard]] DetectLease lease_detect_service(std::size_t worker_index) const override {
    const std::shared_ptr<const ModelSet> models = model_set();
    // One solo set for the whole server: two spinning thread pools on the same cores would slow each
    // other down, so a job that finds it taken runs on its own worker's sessions.
    if (models->solo && pool_ && pool_->busy_workers() <= 1 && pool_->queue_depth() == 0) {
      std::unique_lock lock(solo_mutex_, std::try_to_lock);
      if (lock.owns_lock()) {
        metrics_.inference_runs.inc({"solo"});
        return {models->solo, std::move(lock)};
      }
    }
    metrics_.inference_runs.inc({"shared"});
    return {models->workers.at(worker_index), {}};
  }
  Result<nlohmann::json> load_model(const std::string& spec_or_name) override {
    return add_model(spec_or_name, "module");
  }
  [[nodiscard]] std::size_t workers() const override { return static_cast<std::size_t>(options_.workers); }
  [[nodiscard]] const ServerOptions& options() const override { return options_; }
  Metrics& metrics() override { return metrics_; }
  [[nodiscard]] bool authorised(const httplib::Request& req) const override;

 private:
  // --- set-up
  Status load_api_key();
  [[nodiscard]] bool is_public_route(const httplib::Request& req) const;
  // --- models: loaded at start, then loaded, replaced and unloaded while serving (POST/DELETE /v1/models,
  // SIGHUP). The set in use is one immutable ModelSet, swapped whole; a request holds the set (or the
  // service) it started with, so a change never touches a request in flight.
  struct ModelSet {
    std::vector<std::shared_ptr<const DetectService>> workers;  // one per worker
    std::shared_ptr<const DetectService> solo;                  // all-cores sessions, or null (solo off)
  };
  // One model, with a session per worker (and one more for the solo set).
  struct LoadedModel {
    ModelSpec spec;
    std::vector<std::shared_ptr<const Detector>> workers;
    std::shared_ptr<const Detector> solo;
  };
  // How a loaded model was asked for, to tell on SIGHUP whether its files changed.
  struct ModelSource {
    std::string requested;    // the name or spec path it was loaded by
    std::string fingerprint;  // spec and weights: path, size and modification time
    bool pinned = false;      // named by --models: SIGHUP reloads it but never unloads it
  };
  [[nodiscard]] std::shared_ptr<const ModelSet> model_set() const {
    const std::lock_guard lock(models_mutex_);
    return models_;
  }
  [[nodiscard]] Result<LoadedModel> load_sessions(const std::string& requested) const;
  [[nodiscard]] std::shared_ptr<const ModelSet> with_model(const ModelSet& base,
                                                           const LoadedModel& model) const;
  [[nodiscard]] std::shared_ptr<const ModelSet> without_model(const ModelSet& base,
                                                              const std::string& name) const;
  [[nodiscard]] std::string fingerprint(const ModelSpec& spec) const;
  void load_models();
  // Loads (or replaces) a model while serving; the set in use changes only when the load succeeded.
  // `by` says who asked ("api", "sighup") in the log.
  Result<nlohmann::json> add_model(const std::string& requested, const std::string& by);
  Status remove_model(const std::string& name, const std::string& by);
  // SIGHUP: reloads loaded models whose files changed, loads specs new in the --model-dir folders, and
  // unloads models loaded that way whose spec is gone.
  void rescan_model_dirs();
  void register_routes();
  void serve_static_files();

  static std::string request_id(const httplib::Response& res) { return res.get_header_value("X-Request-Id"); }
  [[nodiscard]] std::string body_limit_message() const {
    return "request body exceeds " + std::to_string(options_.max_body_mb) + " MB (--max-body-mb)";
  }
  // Reads a request body within --max-body-mb; see the definition.
  int read_body(httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) const;
  [[nodiscard]] httplib::Server::HandlerWithContentReader with_body(httplib::Server::Handler handler);
  void refuse_unrouted_bodies();

  // --- handlers
  void handle_detect(const httplib::Request& req, httplib::Response& res);
  void handle_kserve_infer(const httplib::Request& req, httplib::Response& res, const std::string& model);
  Result<DetectResponse> run_inference(ImageRequest request);

  ServerOptions options_;
  std::vector<ServerModule> modules_;
  GatedHttpServer http_;     // httplib behind the connection gate (connection_gate.h)
  mutable Metrics metrics_;  // internally synchronised; counted from const accessors too
  std::unique_ptr<InferencePool> pool_;
  std::optional<ModelRepository> repository_;  // set before any thread starts
  DecodeLimits limits_;
  std::string default_model_;  // the first of --models; never unloaded
  mutable std::mutex models_mutex_;
  std::shared_ptr<const ModelSet> models_;      // null until loaded
  std::mutex change_mutex_;                     // one load, replace or unload at a time
  std::map<std::string, ModelSource> sources_;  // by model name; guarded by change_mutex_
  mutable std::mutex solo_mutex_;               // held while a job runs on the solo sessions
  std::atomic<bool> ready_{false};
  // Why loading failed (empty: still loading, or loaded). Written on the loader thread while HTTP threads
  // read it for their 503s (issue 17), hence the mutex.
  mutable std::mutex load_error_mutex_;
  std::string load_error_;
  // The server stays up but never ready (/ping answers 503 with the message); the log says why at once.
  void set_load_error(std::string message) {
    std::fprintf(
        stderr, "%s\n",
        to_json_text(json{{"ts", now_iso8601()}, {"event", "load_failed"}, {"error", message}}).c_str());
    const std::lock_guard lock(load_error_mutex_);
    load_error_ = std::move(message);
  }
  [[nodiscard]] std::string load_error() const {
    const std::lock_guard lock(load_error_mutex_);
    return load_error_;
  }
  std::optional<std::array<unsigned char, SHA256_DIGEST_LENGTH>> api_key_digest_;
  FamilyRegistry families_;
};

bool Server::is_public_route(const httplib::Request& req) const {
  return std::any_of(modules_.begin(), modules_.end(), [&req](const ServerModule& module) {
    return module.is_public_route && module.is_public_route(req);
  });
}

Status Server::load_api_key() {
  if (options_.api_key_file.empty()) {
    if (options_.public_search) {
      std::fprintf(stderr, "visearch: warning: --public-search has no effect without --api-key-file\n");
    }
    return ok_status();
  }
  std::ifstream in(options_.api_key_file);
  if (!in)
    return Unexpected{ErrorCode::kInvalidArgument, "cannot read --api-key-file " + options_.api_key_file};
  std::string key;
  std::getline(in, key);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  if (key.size() < 16) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "the API key in " + options_.api_key_file + " is shorter than 16 characters"};
  }
  api_key_digest_ = sha256_of(key);
  return ok_status();
}

bool Server::authorised(const httplib::Request& req) const {
  if (!api_key_digest_) return true;
  std::string presented = req.get_header_value("X-API-Key");
  const std::string auth = req.get_header_value("Authorization");
  // The scheme is case-insensitive (RFC 9110 11.1): Bearer, bearer, BEARER.
  if (presented.empty() && auth.size() > 7 && auth[6] == ' ' &&
      std::equal(auth.begin(), auth.begin() + 6, "bearer",
                 [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
    presented = auth.substr(7);
  }
  if (presented.empty()) return false;
  // Compare digests in constant time (independent of where the keys differ and of their lengths).
  const auto digest = sha256_of(presented);
  return CRYPTO_memcmp(digest.data(), api_key_digest_->data(), digest.size()) == 0;
}

RuntimeOptions shared_runtime_of(const ServerOptions& options) {
  RuntimeOptions runtime;
  runtime.intra_op_threads = options.threads_per_worker;
  runtime.allow_spinning = false;  // idle workers must not burn the cores other workers need
  return runtime;
}

// Solo sessions run only when nothing else does, so they may spin between ops (lower latency).
RuntimeOptions solo_runtime_of(const ServerOptions& options) {
  RuntimeOptions runtime;
  runtime.intra_op_threads = effective_solo_threads(options);
  runtime.allow_spinning = true;
  return runtime;
}

std::string file_fingerprint(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return path + ":missing";
  const auto modified = std::filesystem::last_write_time(path, error);
  return path + ":" + std::to_string(size) + ":" +
         std::to_string(error ? 0 : modified.time_since_epoch().count());
}

Result<Server::LoadedModel> Server::load_sessions(const std::string& requested) const {
  auto spec = repository_->find_spec(requested);
  if (!spec) return spec.error();
  if (spec->task != "detect") {
    return Error{ErrorCode::kInvalidArgument,
                 spec->source_path + " is a '" + spec->task + "' model, not a detector"};
  }
  LoadedModel loaded{*spec, {}, nullptr};
  double load_seconds = 0;
  for (int w = 0; w < options_.workers; ++w) {
    auto detector = Detector::load(*spec, *repository_, families_, shared_runtime_of(options_));
    if (!detector) return detector.error();
    if (w == 0) load_seconds = (*detector)->load_ms() / 1000.0;
    loaded.workers.emplace_back(std::move(*detector));
  }
  if (effective_solo_threads(options_) > 0) {
    auto detector = Detector::load(*spec, *repository_, families_, solo_runtime_of(options_));
    if (!detector) return detector.error();
    loaded.solo = std::move(*detector);
  }
  metrics_.model_load_seconds.set({spec->name}, load_seconds);
  return loaded;
}

std::shared_ptr<const Server::ModelSet> Server::with_model(const ModelSet& base,
                                                           const LoadedModel& model) const {
  auto set = std::make_shared<ModelSet>();
  for (std::size_t w = 0; w < model.workers.size(); ++w) {
    DetectService::Detectors detectors;
    if (w < base.workers.size()) detectors = base.workers[w]->shared_detectors();
    detectors[model.spec.name] = model.workers[w];
    set->workers.push_back(
        std::make_shared<const DetectService>(std::move(detectors), default_model_, limits_));
  }
  if (model.solo) {
    DetectService::Detectors detectors;
    if (base.solo) detectors = base.solo->shared_detectors();
    detectors[model.spec.name] = model.solo;
    set->solo = std::make_shared<const DetectService>(std::move(detectors), default_model_, limits_);
  }
  return set;
}

std::shared_ptr<const Server::ModelSet> Server::without_model(const ModelSet& base,
                                                              const std::string& name) const {
  auto set = std::make_shared<ModelSet>();
  const auto drop = [&](const std::shared_ptr<const DetectService>& service) {
    DetectService::Detectors detectors = service->shared_detectors();
    detectors.erase(name);
    return std::make_shared<const DetectService>(std::move(detectors), default_model_, limits_);
  };
  for (const auto& service : base.workers) set->workers.push_back(drop(service));
  if (base.solo) set->solo = drop(base.solo);
  return set;
}

std::string Server::fingerprint(const ModelSpec& spec) const {
  std::string text = file_fingerprint(spec.source_path);
  if (auto weights = repository_->resolve(spec.weights, false)) text += "|" + file_fingerprint(weights->path);
  for (const auto& [key, ref] : spec.extra_files) {
    if (auto file = repository_->resolve(ref, false)) text += "|" + file_fingerprint(file->path);
  }
  return text;
}

void Server::load_models() {
  ModelSet empty;
  std::shared_ptr<const ModelSet> set;
  {
    const std::lock_guard change(change_mutex_);
    for (const std::string& requested : options_.models) {
      auto model = load_sessions(requested);
      if (!model) {
        set_load_error(model.error().message);
        return;
      }
      if (default_model_.empty()) default_model_ = model->spec.name;
      sources_[model->spec.name] = ModelSource{requested, fingerprint(model->spec), true};
      set = with_model(set ? *set : empty, *model);
    }
    const std::lock_guard lock(models_mutex_);
    models_ = set;
  }
  for (const ServerModule& module : modules_) {
    if (!module.load) continue;
    if (auto loaded = module.load(*this); !loaded) {
      set_load_error(module.name + ": " + loaded.error().message);
      return;
    }
  }
  ready_.store(true, std::memory_order_release);
  std::fprintf(stderr, "%s\n",
               to_json_text(json{{"ts", now_iso8601()},
                                 {"event", "ready"},
                                 {"models", options_.models},
                                 {"workers", options_.workers},
                                 {"threads_per_worker", options_.threads_per_worker},
                                 {"solo_threads", effective_solo_threads(options_)}})
                   .c_str());
}

Result<json> Server::add_model(const std::string& requested, const std::string& by) {
  const std::lock_guard change(change_mutex_);
  const auto started = Clock::now();
  auto model = load_sessions(requested);
  if (!model) {
    std::fprintf(stderr, "%s\n",
                 to_json_text(json{{"ts", now_iso8601()},
                                   {"event", "model_load_failed"},
                                   {"requested", requested},
                                   {"by", by},
                                   {"error", model.error().message}})
                     .c_str());
    return model.error();
  }
  const std::string name = model->spec.name;
  const auto current = model_set();
  const bool replaced = current->workers.front()->find(name) != nullptr;
  auto set = with_model(*current, *model);
  {
    const std::lock_guard lock(models_mutex_);
    models_ = std::move(set);
  }
  const auto previous = sources_.find(name);
  const bool pinned = previous != sources_.end() && previous->second.pinned;
  sources_[name] = ModelSource{requested, fingerprint(model->spec), pinned};
  const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  std::fprintf(stderr, "%s\n",
               to_json_text(json{{"ts", now_iso8601()},
                                 {"event", "model_loaded"},
                                 {"model", name},
                                 {"spec", model->spec.source_path},
                                 {"by", by},
                                 {"replaced", replaced},
                                 {"load_ms", std::round(load_ms)}})
                   .c_str());
  json body = model_to_json(model->spec);
  body["default"] = name == default_model_;
  body["replaced"] = replaced;
  return body;
}

Status Server::remove_model(const std::string& name, const std::string& by) {
  const std::lock_guard change(change_mutex_);
  const auto current = model_set();
  if (current->workers.front()->find(name) == nullptr) {
    return Error{ErrorCode::kNotFound, "model '" + name + "' is not loaded"};
  }
  if (name == default_model_) {
    return Error{ErrorCode::kConflict, "model '" + name +
                                           "' is the default model (the first of --models); the server and "
                                           "its catalog depend on it, so it cannot be unloaded"};
  }
  auto set = without_model(*current, name);
  {
    const std::lock_guard lock(models_mutex_);
    models_ = std::move(set);
  }
  sources_.erase(name);
  metrics_.model_load_seconds.erase({name});
  std::fprintf(
      stderr, "%s\n",
      to_json_text(json{{"ts", now_iso8601()}, {"event", "model_unloaded"}, {"model", name}, {"by", by}})
          .c_str());
  return ok_status();
}

void Server::rescan_model_dirs() {
  if (!ready_.load(std::memory_order_acquire)) {
    std::fprintf(stderr, "{\"ts\":\"%s\",\"event\":\"rescan_skipped\",\"reason\":\"models still loading\"}\n",
                 now_iso8601().c_str());
    return;
  }
  std::map<std::string, ModelSource> sources;
  {
    const std::lock_guard change(change_mutex_);
    sources = sources_;
  }
  // 1. What is loaded: reload what changed on disk; unload what was found by a scan and is gone.
  for (const auto& [name, source] : sources) {
    auto spec = repository_->find_spec(source.requested);
    if (!spec || spec->name != name) {
      if (!source.pinned && name != default_model_) {
        static_cast<void>(remove_model(name, "sighup"));
      } else {
        std::fprintf(
            stderr, "%s\n",
            to_json_text(json{{"ts", now_iso8601()},
                              {"event", "model_kept"},
                              {"model", name},
                              {"reason", spec ? "its spec now names another model" : spec.error().message}})
                .c_str());
      }
      continue;
    }
    if (fingerprint(*spec) != source.fingerprint) static_cast<void>(add_model(source.requested, "sighup"));
  }
  // 2. Specs new in the --model-dir folders (the default spec folder is not rescanned).
  std::vector<std::string> dirs;
  for (const std::string& dir : options_.model_dirs) {
    std::error_code error;
    const auto canonical = std::filesystem::weakly_canonical(dir, error);
    if (!error) dirs.push_back(canonical.string());
  }
  for (const ModelSpec& spec : repository_->list_specs()) {
    if (spec.task != "detect" || sources.contains(spec.name)) continue;
    std::error_code error;
    const std::string folder =
        std::filesystem::weakly_canonical(std::filesystem::path(spec.source_path).parent_path(), error)
            .string();
    if (error || std::find(dirs.begin(), dirs.end(), folder) == dirs.end()) continue;
    static_cast<void>(add_model(spec.source_path, "sighup"));
  }
}

void Server::send_json(httplib::Response& res, int status, const json& body) const {
  res.status = status;
  res.set_content(to_json_text(body), kJson);
}

void Server::send_error(httplib::Response& res, const Error& error) const {
  const ErrorInfo& info = error_info(error.code);
  if (info.http_status == 503) res.set_header("Retry-After", "1");
  send_json(
      res, info.http_status,
      json{{"error", {{"code", info.name}, {"message", error.message}}}, {"request_id", request_id(res)}});
}

bool Server::require_ready(httplib::Response& res) const {
  if (ready_.load(std::memory_order_acquire)) return true;
  const std::string failure = load_error();
  send_error(res, Error{ErrorCode::kUnavailable,
                        failure.empty() ? "models are still loading" : "models failed to load: " + failure});
  return false;
}

void Server::route(const std::string& pattern, const std::vector<std::pair<std::string, Handler>>& handlers) {
  std::string allow;
  for (const auto& [method, handler] : handlers) allow += (allow.empty() ? "" : ", ") + method;
  const auto not_allowed = [this, allow](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Allow", allow);
    send_json(res, 405,
              json{{"error",
                    {{"code", "method_not_allowed"},
                     {"message", req.method + " is not allowed here; use " + allow}}},
                   {"request_id", request_id(res)}});
  };
  const std::string label = route_label(pattern);
  const auto find = [&](const std::string& method) -> httplib::Server::Handler {
    for (const auto& [m, h] : handlers) {
      if (m == method) {
        return [label, h](const httplib::Request& req, httplib::Response& res) {
          t_route_label = label;
          h(req, res);
        };
      }
    }
    return [label, not_allowed](const httplib::Request& req, httplib::Response& res) {
      t_route_label = label;
      not_allowed(req, res);
    };
  };
  http_.Get(pattern, find("GET"));
  http_.Post(pattern, with_body(find("POST")));
  http_.Put(pattern, with_body(find("PUT")));
  http_.Delete(pattern, with_body(find("DELETE")));
  http_.Patch(pattern, with_body(find("PATCH")));
}

// Reads the request body into req.body (req.files for multipart/form-data, req.params as well for a form)
// through httplib's content reader, refusing it as soon as the decoded bytes (de-chunked, decompressed)
// pass --max-body-mb: at most the limit is ever held. httplib 0.11 checks set_payload_max_length against
// Content-Length only and would buffer a chunked, length-less or compressed body whole. Returns 0, or the
// status to refuse the request with (413; 400 for a malformed body).
int Server::read_body(httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) const {
  // No Content-Length and no Transfer-Encoding: no body (RFC 9112 6.3), e.g. `curl -X POST` without data.
  if (!has_body(req)) return 0;
  const std::size_t limit = static_cast<std::size_t>(options_.max_body_mb) * 1024U * 1024U;
  constexpr std::size_t kPartOverhead = 128;  // a multipart part's boundary and headers, roughly
  std::size_t total = 0;
  bool too_large = false;
  const auto take = [&](std::size_t size) {
    total += size;
    too_large = too_large || total > limit;
    return !too_large;
  };
  bool read = false;
  if (req.is_multipart_form_data()) {
    auto current = req.files.end();
    read = reader(
        [&](const httplib::MultipartFormData& part) {
          if (!take(kPartOverhead + part.name.size() + part.filename.size() + part.content_type.size())) {
            return false;
          }
          current = req.files.emplace(part.name, part);
          return true;
        },
        [&](const char* data, std::size_t size) {
          if (!take(size) || current == req.files.end()) return false;
          current->second.content.append(data, size);
          return true;
        });
  } else {
    read = reader([&](const char* data, std::size_t size) {
      if (!take(size)) return false;
      req.body.append(data, size);
      return true;
    });
  }
  if (too_large) return 413;
  if (!read) return res.status >= 400 ? res.status : 400;  // httplib's own status (413 from Content-Length)
  if (req.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded")) {
    httplib::detail::parse_query_text(req.body, req.params);
  }
  return 0;
}

httplib::Server::HandlerWithContentReader Server::with_body(httplib::Server::Handler handler) {
  return [this, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& reader) {
    // httplib hands a content-reader handler a const view of its own (non-const) Request: the body is read
    // into it, where httplib's own reading would have put it (the access log counts it from there).
    auto& request = const_cast<httplib::Request&>(req);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    if (const int refused = read_body(request, res, reader); refused != 0) {
      res.body.clear();
      if (refused == 413) {
        send_json(res, 413,
                  json{{"error", {{"code", "payload_too_large"}, {"message", body_limit_message()}}},
                       {"request_id", request_id(res)}});
      } else {
        send_json(res, refused,
                  json{{"error",
                        {{"code", "invalid_argument"}, {"message", "malformed or incomplete request body"}}},
                       {"request_id", request_id(res)}});
      }
      close_after_reply(res);
      return;
    }
    handler(req, res);
  };
}

// Bodies sent to a path no route matches are never read (httplib would read them whole): 404, and the
// connection is closed. Registered after every route, so it only sees what they leave.
void Server::refuse_unrouted_bodies() {
  const auto refuse = [this](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader&) {
    send_json(res, 404,
              json{{"error", {{"code", "not_found"}, {"message", "no route " + req.method + " " + req.path}}},
                   {"request_id", request_id(res)}});
    close_after_reply(res);
  };
  http_.Post(".*", refuse);
  http_.Put(".*", refuse);
  http_.Delete(".*", refuse);
  http_.Patch(".*", refuse);
}

Status Server::run_on_worker(std::function<void(std::size_t worker_index)> job) {
  auto done = std::make_shared<std::promise<bool>>();  // true = ran, false = skipped
  std::future<bool> finished = done->get_future();
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  auto ticket = pool_->submit(
      [this, job = std::move(job)](std::size_t worker, Clock::duration wait, bool skipped) {
        metrics_.latency_queue_wait.observe(seconds(wait));
        if (!skipped) job(worker);
      },
      deadline, [done](bool ran) { done->set_value(ran); });
  if (!ticket) {
    metrics_.rejected.inc({"queue_full"});
    return ticket.error();
  }
  if (finished.wait_until(deadline) != std::future_status::ready || !finished.get()) {
    ticket->cancelled->store(true);
    return Unexpected{
        ErrorCode::kDeadlineExceeded,
        "no result within " + std::to_string(options_.timeout_ms) + " ms (queue wait + inference)"};
  }
  return ok_status();
}

Result<DetectResponse> Server::run_inference(ImageRequest request) {
  const std::shared_ptr<const DetectService> front = detect_service(0);
  const Detector* detector = front->find(request.model);
  if (detector == nullptr) return Error{ErrorCode::kNotFound, "model '" + request.model + "' is not loaded"};
  if (!request.classes.empty()) {
    auto ids = parse_class_list(detector->spec(), request.classes);
    if (!ids) return ids.error();
    request.options.classes = *ids;
  }
  auto shared_request = std::make_shared<const ImageRequest>(std::move(request));
  auto output = std::make_shared<std::optional<Result<DetectResponse>>>();
  auto ran = run_on_worker([this, shared_request, output](std::size_t worker) {
    const std::string& bytes = shared_request->image;
    const DetectRequest detect_request{shared_request->model, shared_request->options};
    const DetectLease service = lease_detect_service(worker);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the body's chars are the image's bytes
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    auto result = service->detect(std::span<const std::uint8_t>(data, bytes.size()), detect_request);
    if (result) {
      metrics_.latency_decode.observe(result->decode_ms / 1000.0);
      metrics_.latency_inference.observe(
          (result->timing.preprocess_ms + result->timing.inference_ms + result->timing.postprocess_ms) /
          1000.0);
    }
    *output = std::move(result);
  });
  if (!ran) return ran.error();
  return std::move(**output);
}

}  // namespace

HttpInput http_input(const httplib::Request& req) {
  HttpInput input;
  input.content_type = req.get_header_value("Content-Type");
  input.body = req.body;
  for (const auto& [name, value] : req.params) input.query.emplace(name, value);
  for (const auto& [name, file] : req.files) {
    input.parts.push_back(FormPart{file.name, file.filename, file.content_type, file.content});
  }
  return input;
}

namespace {

void Server::handle_detect(const httplib::Request& req, httplib::Response& res) {
  if (!require_ready(res)) return;
  const auto started = Clock::now();
  auto parsed = parse_image_request(http_input(req));
  if (!parsed) return send_error(res, parsed.error());
  std::string source = "request";
  for (const auto& [name, file] : req.files) {
    if (name == "image" && !file.filename.empty()) source = file.filename;
  }
  auto result = run_inference(std::move(*parsed));
  if (!result) return send_error(res, result.error());
  json body = detection_to_json(*result, source);
  body["request_id"] = request_id(res);
  send_json(res, 200, body);
  metrics_.latency_total.observe(seconds(Clock::now() - started));
}

void Server::handle_kserve_infer(const httplib::Request& req, httplib::Response& res,
                                 const std::string& model) {
  if (!require_ready(res)) return;
  if (detect_service(0)->find(model) == nullptr) {
    return send_error(res, Error{ErrorCode::kNotFound, "model '" + model + "' is not loaded"});
  }
  std::optional<std::size_t> header_length;
  if (req.has_header("Inference-Header-Content-Length")) {
    const std::string text = req.get_header_value("Inference-Header-Content-Length");
    std::size_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return send_error(res, Error{ErrorCode::kInvalidArgument, "bad Inference-Header-Content-Length"});
    }
    header_length = value;
  }
  auto parsed = parse_kserve_request(req.body, header_length);
  if (!parsed) return send_error(res, parsed.error());
  const auto started = Clock::now();
  parsed->request.model = model;
  const std::string id = parsed->id.empty() ? request_id(res) : parsed->id;
  auto result = run_inference(std::move(parsed->request));
  if (!result) return send_error(res, result.error());
  send_json(res, 200, kserve_response(*result, id));
  metrics_.latency_total.observe(seconds(Clock::now() - started));
}

void Server::register_routes() {
  using Req = httplib::Request;
  using Res = httplib::Response;
  const auto detect = [this](const Req& req, Res& res) { handle_detect(req, res); };
  const auto ping = [this](const Req&, Res& res) {
    if (ready_.load(std::memory_order_acquire)) {
      send_json(res, 200, json{{"status", "ok"}});
    } else {
      require_ready(res);
    }
  };
  const auto models_list = [this](const Req&, Res& res) {
    if (!require_ready(res)) return;
    json models = json::array();
    const std::shared_ptr<const DetectService> front = detect_service(0);
    for (const Detector* d : front->detectors()) {
      json m = model_to_json(d->spec());
      m["default"] = d->spec().name == front->default_model();
      models.push_back(std::move(m));
    }
    send_json(res, 200, json{{"models", models}});
  };
  const auto model_get = [this](const Req& req, Res& res) {
    if (!require_ready(res)) return;
    const std::shared_ptr<const DetectService> front = detect_service(0);
    const Detector* d = front->find(req.matches[1]);
    if (d == nullptr) {
      return send_error(
          res, Error{ErrorCode::kNotFound, "model '" + std::string(req.matches[1]) + "' is not loaded"});
    }
    json body = model_to_json(d->spec());
    body["default"] = d->spec().name == front->default_model();
    send_json(res, 200, body);
  };
  // POST /v1/models {"spec": "PATH/NAME.json" or "NAME"}: load (or reload) a model while serving.
  const auto model_add = [this](const Req& req, Res& res) {
    if (!require_ready(res)) return;
    const json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("spec") || !body["spec"].is_string() ||
        body["spec"].get<std::string>().empty()) {
      return send_error(res, Error{ErrorCode::kInvalidArgument,
                                   R"(expected a JSON body {"spec": "PATH/NAME.json"} (or a model name))"});
    }
    auto added = add_model(body["spec"].get<std::string>(), "api");
    if (!added) return send_error(res, added.error());
    send_json(res, (*added)["replaced"].get<bool>() ? 200 : 201, *added);
  };
  const auto model_delete = [this](const Req& req, Res& res) {
    if (!require_ready(res)) return;
    const std::string name = req.matches[1];
    if (auto removed = remove_model(name, "api"); !removed) return send_error(res, removed.error());
    send_json(res, 200, json{{"unloaded", name}});
  };
  route("/v1/detect", {{"POST", detect}});
  route("/invocations", {{"POST", detect}});
  route("/ping", {{"GET", ping}});
  route("/v1/models", {{"GET", models_list}, {"POST", model_add}});
  route(R"(/v1/models/([^/]+))", {{"GET", model_get}, {"DELETE", model_delete}});
  route("/metrics", {{"GET", [this](const Req&, Res& res) {
                        res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
                      }}});
  // KServe / Open Inference Protocol v2.
  route("/v2", {{"GET", [this](const Req&, Res& res) { send_json(res, 200, kserve_server_metadata()); }}});
  route("/v2/health/live", {{"GET", [this](const Req&, Res& res) {
                               send_json(res, 200, json{{"live", true}});
                             }}});
  route("/v2/health/ready",
        {{"GET", [this](const Req&, Res& res) {
            const bool ready = ready_.load(std::memory_order_acquire);
            if (ready) {
              for (const ServerModule& module : modules_) {
                if (!module.check_ready) continue;
                if (Status ok = module.check_ready(); !ok) {
                  return send_json(
                      res, 503,
                      json{{"ready", false}, {"module", module.name}, {"reason", ok.error().message}});
                }
              }
            }
            send_json(res, ready ? 200 : 503, json{{"ready", ready}});
          }}});
  route(R"(/v2/models/([^/]+))",
        {{"GET", [this](const Req& req, Res& res) {
            if (!require_ready(res)) return;
            const std::shared_ptr<const DetectService> front = detect_service(0);
            const Detector* d = front->find(req.matches[1]);
            if (d == nullptr) {
              return send_error(res, Error{ErrorCode::kNotFound,
                                           "model '" + std::string(req.matches[1]) + "' is not loaded"});
            }
            send_json(res, 200, kserve_model_metadata(d->spec()));
          }}});
  route(R"(/v2/models/([^/]+)/ready)",
        {{"GET", [this](const Req& req, Res& res) {
            const bool ready =
                ready_.load(std::memory_order_acquire) && detect_service(0)->find(req.matches[1]) != nullptr;
            send_json(res, ready ? 200 : 404, json{{"name", std::string(req.matches[1])}, {"ready", ready}});
          }}});
  route(R"(/v2/models/([^/]+)/infer)",
        {{"POST", [this](const Req& req, Res& res) { handle_kserve_infer(req, res, req.matches[1]); }}});
}

// The content type of a page file, from its extension.
std::string web_content_type(std::string_view path) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript"},
      {".mjs", "text/javascript"},
      {".css", "text/css"},
      {".svg", "image/svg+xml"},
      {".json", "application/json"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"}};
  for (const auto& [extension, type] : kTypes) {
    if (path.ends_with(extension)) return std::string(type);
  }
  return "application/octet-stream";
}

void Server::serve_static_files() {
  const auto add_static_headers = [](const httplib::Request& req, httplib::Response& res) {
    const bool html = req.path == "/" || req.path.ends_with("/") || req.path.ends_with(".html");
    res.set_header("Cache-Control", html ? "no-cache" : "public, max-age=3600");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (html) {
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'");
    }
  };
  if (!options_.web_ui) return;
  if (options_.static_dir.empty()) {
    // The pages compiled into the binary: GET (and HEAD) of any path no route took. A path that names no
    // page is a 404 like any other (the error handler writes it).
    const std::string folder = options_.embedded_web_dir.empty() ? "" : options_.embedded_web_dir + "/";
    http_.Get("/(.*)", [folder, add_static_headers](const httplib::Request& req, httplib::Response& res) {
      std::string relative = req.matches[1].str();
      if (relative.empty() || relative.back() == '/') relative += "index.html";
      // The shopper page's web/ holds the labelling tool's folder too, which only `visearch label` serves.
      const bool other_page = folder.empty() && relative.starts_with("label/");
      const EmbeddedFile* file = other_page ? nullptr : find_web_file(folder + relative);
      if (file == nullptr || is_api_path(req.path)) {
        res.status = 404;
        return;
      }
      add_static_headers(req, res);
      res.set_header("ETag", std::string(file->etag));
      if (req.get_header_value("If-None-Match") == file->etag) {
        res.status = 304;
        return;
      }
      res.set_content(std::string(file->bytes), web_content_type(relative));
    });
    return;
  }
  // httplib refuses paths that leave the folder ("..", absolute) and sets the
  // content type from the extension; we add caching rules.
  if (!http_.set_mount_point("/", options_.static_dir)) {
    std::fprintf(stderr, "visearch: warning: --static-dir %s is not a folder; no web UI\n",
                 options_.static_dir.c_str());
    return;
  }
  http_.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
  http_.set_file_extension_and_mimetype_mapping("webmanifest", "application/manifest+json");
  http_.set_file_request_handler(add_static_headers);
  // httplib 0.11 calls the file handler for GET only; a HEAD of a static file must carry the same headers
  // (caches and `curl -I` read them).
  http_.set_post_routing_handler([add_static_headers](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "HEAD" && res.status == 200 && !is_api_path(req.path) &&
        !res.has_header("Cache-Control")) {
      add_static_headers(req, res);
    }
  });
}

int Server::run() {
  // SIGTERM, SIGINT and SIGHUP are caught by a handler that writes them to a pipe, which this thread reads
  // once the server runs. Threads that libraries start before main() (OpenBLAS starts its pool when it is
  // loaded) do not block them, so a signal may land on any thread: a handler, unlike sigwait, takes it
  // wherever it lands, where the default action would end the process. Our own threads start with the
  // signals blocked (they inherit this thread's mask), so their system calls are not interrupted.
  if (::pipe2(g_signal_pipe.data(), O_CLOEXEC) != 0) {
    std::fprintf(stderr, "visearch: error: cannot create the signal pipe\n");
    return 1;
  }
  sigset_t signals;
  sigemptyset(&signals);
  struct sigaction action {};
  action.sa_handler = on_server_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (const int number : {SIGTERM, SIGINT, SIGHUP}) {
    sigaddset(&signals, number);
    sigaction(number, &action, nullptr);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  if (auto key = load_api_key(); !key) {
    std::fprintf(stderr, "visearch: error: %s\n", key.error().message.c_str());
    return 2;
  }
  if (options_.workers < 1 || options_.queue_size < 0 || options_.max_body_mb < 1 ||
      options_.timeout_ms < 1) {
    std::fprintf(stderr, "visearch: error: --workers, --max-body-mb and --timeout-ms must be positive\n");
    return 2;
  }
  register_all_families(families_);
  repository_.emplace(ModelRepository::with_defaults(options_.model_dirs));
  limits_.max_pixels = options_.max_pixels;
  pool_ = std::make_unique<InferencePool>(static_cast<std::size_t>(options_.workers),
                                          static_cast<std::size_t>(options_.queue_size));
  metrics_.add_gauge({"visearch_queue_depth", "Requests waiting for an inference worker.",
                      [this] { return static_cast<double>(pool_->queue_depth()); }});
  metrics_.add_gauge({"visearch_busy_workers", "Inference workers running a request.",
                      [this] { return static_cast<double>(pool_->busy_workers()); }});
  metrics_.add_gauge(
      {"visearch_ready", "1 once all models are loaded.", [this] { return ready_.load() ? 1.0 : 0.0; }});

  http_.set_keep_alive_max_count(10000);
  http_.set_keep_alive_timeout(kKeepAliveSeconds);
  http_.on_refusal([this](GateRefusal refusal) { metrics_.rejected.inc({to_string(refusal)}); });
  metrics_.add_gauge({"visearch_open_connections", "Client connections held open.",
                      [this] { return static_cast<double>(http_.counts().open); }});
  metrics_.add_gauge({"visearch_waiting_connections",
                      "Connections between requests or still sending a request head (no thread held).",
                      [this] { return static_cast<double>(http_.counts().waiting); }});
  http_.set_payload_max_length(static_cast<std::size_t>(options_.max_body_mb) * 1024U * 1024U);
  if (!options_.cors_origin.empty()) {
    http_.set_default_headers({{"Access-Control-Allow-Origin", options_.cors_origin}, {"Vary", "Origin"}});
    http_.Options(R"(.*)", [](const httplib::Request&, httplib::Response& res) {
      res.status = 204;
      res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-API-Key, X-Request-Id");
      res.set_header("Access-Control-Max-Age", "600");
    });
  }
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Request-Id", sanitise_request_id(req.get_header_value("X-Request-Id")));
    t_route_label.clear();
    t_counted_in_flight = true;
    metrics_.in_flight.fetch_add(1);
    // A NUL byte (%00) would cut the path short where it becomes a file name (/index.html%00.png served
    // the page as image/png), so no path may hold one.
    if (req.path.find('\0') != std::string::npos) {
      send_json(
          res, 400,
          json{{"error", {{"code", "invalid_argument"}, {"message", "the path holds a NUL byte (%00)"}}},
               {"request_id", request_id(res)}});
      if (has_body(req)) close_after_reply(res);
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool open = req.path == "/ping" || req.path.rfind("/v2/health/", 0) == 0 ||
                      req.method == "OPTIONS" ||
                      (!is_api_path(req.path) && (req.method == "GET" || req.method == "HEAD")) ||  // web UI
                      (options_.public_search && is_public_route(req));
    if (!open && !authorised(req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_json(res, 401,
                json{{"error",
                      {{"code", "unauthorized"},
                       {"message", "missing or wrong API key (Authorization: Bearer KEY or X-API-Key)"}}},
                     {"request_id", request_id(res)}});
      if (has_body(req)) close_after_reply(res);  // the body is never read
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.get_header_value("Connection") == "close") return;  // see close_after_reply
    if (!res.has_header("X-Request-Id")) res.set_header("X-Request-Id", random_request_id());
    std::string code = "http_" + std::to_string(res.status);
    std::string message = "HTTP " + std::to_string(res.status);
    if (res.status == 404) {
      code = "not_found";
      message = "no route " + req.method + " " + req.path;
    } else if (res.status == 413) {
      code = "payload_too_large";
      message = body_limit_message();
    }
    send_json(res, res.status,
              json{{"error", {{"code", code}, {"message", message}}}, {"request_id", request_id(res)}});
  });
  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    // Only what the pre-routing handler counted: a request httplib refused before routing (414, a garbage
    // request line) was never counted in flight, and must not be taken off.
    if (t_counted_in_flight) metrics_.in_flight.fetch_sub(1);
    t_counted_in_flight = false;
    // The route pattern, never the raw path: labels stay bounded whatever paths clients send.
    std::string route = std::move(t_route_label);
    t_route_label.clear();
    if (route.empty()) {
      const bool web = (req.method == "GET" || req.method == "HEAD") && !is_api_path(req.path) &&
                       (res.status == 200 || res.status == 304 || res.status == 206);
      route = web ? "static" : "unmatched";
    }
    metrics_.requests.inc({route, std::to_string(res.status)});
    json line{{"ts", now_iso8601()},
              {"request_id", res.get_header_value("X-Request-Id")},
              {"remote", req.remote_addr},
              {"method", req.method},
              {"path", req.path},
              {"status", res.status},
              {"bytes_in", req.body.size()},
              {"bytes_out", res.body.size()}};
    std::fprintf(stderr, "%s\n", to_json_text(line).c_str());
  });
  register_routes();
  for (const ServerModule& module : modules_) {
    if (module.register_routes) module.register_routes(*this);
  }
  serve_static_files();
  refuse_unrouted_bodies();

  if (!http_.bind_to_port(options_.host, options_.port)) {
    std::fprintf(stderr, "visearch: error: cannot listen on %s:%d (in use or not permitted)\n",
                 options_.host.c_str(), options_.port);
    return 2;
  }
  std::fprintf(stderr, "{\"ts\":\"%s\",\"event\":\"listening\",\"host\":\"%s\",\"port\":%d}\n",
               now_iso8601().c_str(), options_.host.c_str(), options_.port);
  if (!http_.start()) {
    std::fprintf(stderr, "visearch: error: cannot start the connection gate (epoll)\n");
    return 1;
  }
  std::thread listener([this] { http_.listen_after_bind(); });
  std::thread loader([this] { load_models(); });

  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);  // this thread takes them now (see above)
  int signal_number = 0;
  // SIGHUP rescans the model folders here, on the signal thread: a SIGTERM sent meanwhile waits in the
  // pipe and is taken as soon as the rescan ends.
  while ((signal_number = next_signal()) == SIGHUP) {
    std::fprintf(stderr, "{\"ts\":\"%s\",\"event\":\"rescan\",\"signal\":%d}\n", now_iso8601().c_str(),
                 signal_number);
    rescan_model_dirs();
  }
  std::fprintf(stderr, "{\"ts\":\"%s\",\"event\":\"draining\",\"signal\":%d}\n", now_iso8601().c_str(),
               signal_number);
  loader.join();
  // Stop accepting; the HTTP pool finishes in-flight requests before listen returns.
  auto drained = std::async(std::launch::async, [this, &listener] {
    http_.stop();
    listener.join();
    http_.drain();  // requests whose head had arrived are answered (Connection: close)
    pool_->shutdown();
  });
  if (drained.wait_for(std::chrono::milliseconds(options_.drain_timeout_ms)) != std::future_status::ready) {
    // Whatever is still held is dropped: say how much, and exit non-zero (a supervisor must not take this
    // for a clean stop).
    std::fprintf(
        stderr,
        "{\"ts\":\"%s\",\"event\":\"drain_timeout\",\"drain_timeout_ms\":%d,\"dropped_in_flight\":%lld,"
        "\"dropped_queued\":%zu,\"exit_code\":1}\n",
        now_iso8601().c_str(), options_.drain_timeout_ms, static_cast<long long>(metrics_.in_flight.load()),
        pool_->queue_depth());
    std::fflush(stderr);
    std::_Exit(1);
  }
  std::fprintf(stderr, "{\"ts\":\"%s\",\"event\":\"stopped\"}\n", now_iso8601().c_str());
  return 0;
}

}  // namespace

int run_server(const ServerOptions& options, const std::vector<ServerModule>& modules) {
  Server server(options, modules);
  return server.run();
}

}  // namespace visearch::server
