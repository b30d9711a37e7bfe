// HttpClient: the few HTTP calls the OpenSearch catalog makes, over libcurl, with fail-over between the
// cluster's nodes. A request goes to the first node that answers; a node that cannot be reached (connect
// error, reset, timeout) is skipped and the next is tried, and the next request starts from the node that
// answered last. HTTP statuses are returned as they are (the caller decides what a 429 or 503 means).
//
// TLS verification is on unless the caller turns it off; credentials are a Basic "user:password" or an
// "ApiKey <key>" header, never logged. Thread-safety: request() may be called concurrently; each call
// leases its own curl handle from a pool (so connections are kept alive between calls).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace visearch::search::opensearch {

struct HttpClientOptions {
  bool https = false;
  std::vector<std::string> hosts;  // "host:port"
  std::string basic_auth;          // "user:password"
  std::string api_key;             // sent as "Authorization: ApiKey <key>"
  std::string ca_file;             // PEM bundle; empty = the system's
  bool tls_verify = true;
  long connect_timeout_ms = 2000;
  long timeout_ms = 60000;
};

struct HttpReply {
  long status = 0;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpClient(HttpClient&&) = delete;
  HttpClient& operator=(HttpClient&&) = delete;

  // kUnavailable when no node could be reached; otherwise the reply, whatever its status.
  Result<HttpReply> request(std::string_view method, const std::string& path, const std::string& body = {},
                            std::string_view content_type = "application/json");
  // "http(s)://first-host:port" (for messages).
  [[nodiscard]] std::string base_url() const;

 private:
  struct Handle;
  std::unique_ptr<Handle> lease();
  void give_back(std::unique_ptr<Handle> handle);

  HttpClientOptions options_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Handle>> idle_;
  std::atomic<std::size_t> preferred_{0};
};

}  // namespace visearch::search::opensearch
