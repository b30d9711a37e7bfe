// ServerContext: what a route module (search, labelling, ...) may use of the
// running server. Modules are listed once, in the ServerModules passed to
// run_server(); each registers its routes and, when the server loads models,
// loads what it needs (e.g. an embedding model per worker).
//
// Thread-safety: every method may be called from any HTTP thread once routes
// are registered; load() runs on the loader thread before ready().
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "server/http_server.h"
#include "service/detect_service.h"
#include "service/image_request.h"
#include "service/metrics.h"

namespace visearch::server {

// A DetectService to run one inference on, holding whatever lock keeps it exclusive (see
// ServerContext::lease_detect_service). It shares ownership of the service: a model loaded or unloaded
// meanwhile never changes or frees what a request already holds.
class DetectLease {
 public:
  DetectLease(std::shared_ptr<const DetectService> service, std::unique_lock<std::mutex> lock)
      : service_(std::move(service)), lock_(std::move(lock)) {}
  const DetectService& operator*() const { return *service_; }
  const DetectService* operator->() const { return service_.get(); }
  [[nodiscard]] bool solo() const { return lock_.owns_lock(); }

 private:
  std::shared_ptr<const DetectService> service_;
  std::unique_lock<std::mutex> lock_;
};

class ServerContext {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  virtual ~ServerContext() = default;
  ServerContext() = default;
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;
  ServerContext(ServerContext&&) = delete;
  ServerContext& operator=(ServerContext&&) = delete;

  // Registers handlers by method ("GET", "POST", "DELETE", ...) for a path
  // regex; other methods on that path answer 405 with an Allow header.
  virtual void route(const std::string& pattern,
                     const std::vector<std::pair<std::string, Handler>>& handlers) = 0;

  virtual void send_json(httplib::Response& res, int status, const nlohmann::json& body) const = 0;
  // {"error": {"code", "message"}, "request_id"} with the status from the error table.
  virtual void send_error(httplib::Response& res, const Error& error) const = 0;
  // false (and a 503 already sent) while models are loading.
  virtual bool require_ready(httplib::Response& res) const = 0;

  // Runs `job(worker_index)` on an inference worker behind the bounded queue and
  // waits for it until the request deadline. Errors: kUnavailable (queue full,
  // 503), kDeadlineExceeded (504). On a deadline the job may still run or be
  // running after this returns: capture only values and shared_ptrs.
  virtual Status run_on_worker(std::function<void(std::size_t worker_index)> job) = 0;

  // The worker's own sessions (one intra-op thread each, no spinning). Outside a job, any index gives the
  // loaded models' metadata. The set of models can change while the server runs (POST/DELETE /v1/models,
  // SIGHUP): keep the returned pointer for as long as anything found in it is used.
  [[nodiscard]] virtual std::shared_ptr<const DetectService> detect_service(
      std::size_t worker_index) const = 0;
  // For inference inside a job: the server-wide solo sessions (all cores) when this job is the only work
  // in the pool and no other job holds them, else detect_service(worker_index). Hold the lease for as long
  // as the service (or a Detector from it) is used.
  [[nodiscard]] virtual DetectLease lease_detect_service(std::size_t worker_index) const = 0;
  // Loads (or replaces) a model in the running server, as POST /v1/models does; returns its metadata. The
  // set in use changes only when the load succeeds.
  virtual Result<nlohmann::json> load_model(const std::string& spec_or_name) = 0;
  [[nodiscard]] virtual std::size_t workers() const = 0;
  [[nodiscard]] virtual const ServerOptions& options() const = 0;
  virtual Metrics& metrics() = 0;
  [[nodiscard]] virtual bool authorised(const httplib::Request& req) const = 0;
};

struct ServerModule {
  std::string name;
  // Registers routes (before the server listens).
  std::function<void(ServerContext&)> register_routes;
  // Loads what the module needs once detectors are loaded; an error keeps the server not ready.
  std::function<Status(ServerContext&)> load;
  // Routes that `--public-search` opens to callers without the API key (what the shopper page reads);
  // empty = none. Writes must never be listed.
  std::function<bool(const httplib::Request&)> is_public_route;
  // Readiness beyond loading (e.g. the search catalog's cluster reachable and not red): an error makes
  // /v2/health/ready answer 503 with its message while it lasts; empty = nothing to check.
  std::function<Status()> check_ready;
};

// Parses request bodies and parameters the way /v1/detect does.
HttpInput http_input(const httplib::Request& req);

}  // namespace visearch::server
