#include "cli/serve_command.h"

#include <cstdint>
#include <memory>
#include <sstream>

#include "server/http_server.h"
#include "server/modules.h"

namespace visearch::cli {

void add_serve_command(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<server::ServerOptions>();
  auto models = std::make_shared<std::string>("picodet_s_416");
  CLI::App* cmd =
      app.add_subcommand("serve", "Run the HTTP detection service (SageMaker, KServe v2, /v1 API)");
  cmd->add_option("--host", options->host, "Address to listen on (0.0.0.0 for containers / SageMaker)")
      ->capture_default_str();
  cmd->add_option("--port", options->port, "TCP port")->check(CLI::Range(1, 65535))->capture_default_str();
  cmd->add_option("--models", *models, "Models to load, comma-separated; the first is the default")
      ->capture_default_str();
  cmd->add_option("--model-dir", options->model_dirs, "Directory holding weight files (repeatable)")
      ->allow_extra_args(false)
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--workers", options->workers, "Inference workers (each owns its model sessions)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--threads-per-worker", options->threads_per_worker, "Inference threads per worker")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--solo-threads", options->solo_threads,
                  "Threads for a request that runs while the server is otherwise idle (-1 = all cores, "
                  "0 = off)")
      ->check(CLI::Range(-1, 256))
      ->capture_default_str();
  cmd->add_option("--queue-size", options->queue_size, "Requests allowed to wait for a worker; beyond: 503")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--max-body-mb", options->max_body_mb, "Largest request body; beyond: 413")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--timeout-ms", options->timeout_ms, "Deadline for queue wait + inference; beyond: 504")
      ->check(CLI::Range(1, 3600000))
      ->capture_default_str();
  cmd->add_option("--drain-timeout-ms", options->drain_timeout_ms,
                  "On SIGTERM, wait this long for in-flight requests")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  cmd->add_option("--http-threads", options->http_threads,
                  "Request threads (I/O only): each runs one request whose head has arrived")
      ->check(CLI::Range(2, 4096))
      ->capture_default_str();
  cmd->add_option("--max-connections", options->max_connections, "Open client connections; beyond: 503")
      ->check(CLI::Range(16, 1000000))
      ->capture_default_str();
  cmd->add_option("--max-connections-per-client", options->max_connections_per_client,
                  "Open connections from one client address; beyond: 503")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--head-timeout-ms", options->head_timeout_ms,
                  "The whole request head must arrive within this; beyond: 408")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  cmd->add_option("--io-timeout-ms", options->io_timeout_ms,
                  "Longest wait for one read or write of a running request")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  cmd->add_option("--min-body-kb-per-s", options->min_body_kb_per_s,
                  "A request body must average this after the first --io-timeout-ms (0 = no minimum)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cmd->add_option("--max-pixels", options->max_pixels, "Refuse images with more pixels (422)")
      ->capture_default_str();
  cmd->add_option("--api-key-file", options->api_key_file,
                  "File whose first line is the API key; then every route but health checks needs it");
  cmd->add_flag("--public-search", options->public_search,
                "With --api-key-file: searching and reading the catalog need no key (the shopper page); "
                "catalog writes and every other route still do");
  cmd->add_option("--cors-origin", options->cors_origin, "Allow browser requests from this origin (or *)");
  cmd->add_option("--static-dir", options->static_dir,
                  "Serve the web UI from this folder at / (default: the shopper page built into the binary)")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag(
      "--no-web-ui", [options](std::int64_t) { options->web_ui = false; },
      "Serve no web pages, only the API");
  cmd->add_option("--data-dir", options->data_dir,
                  "Product catalog folder for visual search (/v1/search, /v1/products)");
  cmd->add_option("--catalog", options->catalog,
                  "Catalog URI instead of --data-dir: sqlite:DIR or "
                  "opensearch+http(s)://HOST:PORT[,HOST:PORT...]/INDEX_PREFIX (replicas share one)");
  cmd->add_option("--catalog-credentials", options->catalog_credentials,
                  "OpenSearch: file whose first line is user:password or ApiKey KEY")
      ->check(CLI::ExistingFile);
  cmd->add_option("--catalog-ca", options->catalog_ca,
                  "OpenSearch: CA bundle (PEM) of the cluster's certificate")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--catalog-insecure", options->catalog_insecure,
                "OpenSearch over https without verifying its certificate");
  cmd->add_option("--search-mapping", options->search_mapping,
                  "Label -> category/keyword mapping (default: data/search/label_mapping.json)");
  cmd->add_option("--embed-model", options->embed_model, "Embedding model for visual search")
      ->capture_default_str();
  cmd->add_option("--search-index", options->search_index, "Vector index: auto, exact or hnsw")
      ->check(CLI::IsMember({"auto", "exact", "hnsw"}))
      ->capture_default_str();
  cmd->add_option(
         "--feedback-log",
         [options](const CLI::results_t& values) {
           options->feedback_log = values.front() == "on";
           return true;
         },
         "on: log searches and the shopper page's shown/opened products (no personal data) for "
         "`search-eval --feedback`; off: write nothing (default on)")
      ->check(CLI::IsMember({"on", "off"}))
      ->type_name("on|off");
  cmd->add_option("--feedback-dir", options->feedback_dir,
                  "Folder of the feedback log (default: feedback/ in the SQLite catalog's folder)");
  cmd->callback([options, models, exit_code] {
    options->models.clear();
    std::stringstream parts(*models);
    std::string name;
    while (std::getline(parts, name, ',')) {
      if (!name.empty()) options->models.push_back(name);
    }
    *exit_code = server::run_server(*options, server::serve_modules());
  });
}

}  // namespace visearch::cli
