// The HTTP binding: routes -> DetectService (through InferencePool) -> JSON.
// Everything here is parse / call / serialise; decisions live in src/service.
//
// run_server() blocks until SIGTERM or SIGINT, then stops accepting, finishes
// in-flight requests (up to drain_timeout_ms) and returns 0.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace visearch::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::vector<std::string> models{"picodet_s_416"};  // the first is the default
  std::vector<std::string> model_dirs;
  int workers = 2;             // inference workers, each with its own model sessions
  int threads_per_worker = 1;  // ONNX Runtime intra-op threads per worker
  // A request that runs while every other worker is idle and nothing is queued uses a second set of
  // sessions with this many threads (spinning between ops), so a lone request gets every core and a busy
  // server still runs one thread per worker. -1 = the number of cores; 0 or <= threads_per_worker = off.
  int solo_threads = -1;
  int queue_size = 8;  // requests allowed to wait for a worker
  int max_body_mb = 20;
  int timeout_ms = 30000;  // queue wait + inference deadline -> 504
  int drain_timeout_ms = 30000;
  int http_threads = 32;  // request threads (I/O only, never inference); see connection_gate.h
  // Connection limits (connection_gate.h): open connections in all and from one client address (beyond:
  // 503); the whole request head within head_timeout_ms (beyond: 408); each read or write of a running
  // request within io_timeout_ms, and a body averaging at least min_body_kb_per_s after that (else 400).
  int max_connections = 2048;
  int max_connections_per_client = 256;
  int head_timeout_ms = 10000;
  int io_timeout_ms = 10000;
  int min_body_kb_per_s = 4;
  std::string api_key_file;
  // With an API key: leave the modules' public routes (searching and reading the catalog: what the shopper
  // page needs) open, and keep the key for everything else (catalog writes, detection, KServe, metrics).
  bool public_search = false;
  std::string cors_origin;
  std::uint64_t max_pixels = 64'000'000;
  std::string static_dir;  // web UI files served at / from this folder (development; overrides the below)
  // With no static_dir: the pages compiled into the binary (server/embedded_files.h), from this folder of
  // web/ ("" = the shopper page, web/ without its label/ folder; "label" = the labelling tool).
  std::string embedded_web_dir;
  bool web_ui = true;  // false: no pages at all (an API-only deployment)
  // Visual search (apps/server/search_module.h): the catalog folder (empty = search routes answer 503),
  // the label mapping file (empty = the shipped data/search/label_mapping.json), the embedding model
  // (one session per worker) and the vector index kind (auto, exact, hnsw).
  std::string data_dir;
  // Or any catalog URI (sqlite:DIR, opensearch+http(s)://HOSTS/PREFIX) with its connection options.
  std::string catalog;
  std::string catalog_credentials;
  std::string catalog_ca;
  bool catalog_insecure = false;
  std::string search_mapping;
  std::string embed_model = "mobilenetv2_embed";
  std::string search_index = "auto";
  // Shopper feedback (search/feedback_log.h, docs/feedback.md): on, searches and the page's shown/open
  // events are logged into feedback_dir, by default the SQLite catalog folder's feedback/ (an OpenSearch
  // catalog has no folder: no log unless feedback_dir is given); off, nothing is written and
  // POST /v1/search/feedback answers 404.
  bool feedback_log = true;
  std::string feedback_dir;
};

struct ServerModule;

// Returns the process exit code. `modules` add routes beyond detection.
int run_server(const ServerOptions& options, const std::vector<ServerModule>& modules);

}  // namespace visearch::server
