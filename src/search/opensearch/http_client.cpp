#include "search/opensearch/http_client.h"

#include <curl/curl.h>

#include <mutex>

namespace visearch::search::opensearch {
namespace {

constexpr std::size_t kMaxIdleHandles = 16;
constexpr std::size_t kMaxReplyBytes = std::size_t{512} << 20U;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t bytes = size * count;
  if (body->size() + bytes > kMaxReplyBytes) return 0;  // aborts the transfer: CURLE_WRITE_ERROR
  body->append(data, bytes);
  return bytes;
}

}  // namespace

struct HttpClient::Handle {
  CURL* curl = nullptr;
  Handle() : curl(curl_easy_init()) {}
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&&) = delete;
  Handle& operator=(Handle&&) = delete;
};

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
  global_init();
}

HttpClient::~HttpClient() = default;

std::string HttpClient::base_url() const {
  return std::string(options_.https ? "https://" : "http://") +
         (options_.hosts.empty() ? std::string("?") : options_.hosts.front());
}

std::unique_ptr<HttpClient::Handle> HttpClient::lease() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  return std::make_unique<Handle>();
}

void HttpClient::give_back(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(pool_mutex_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(handle));
}

Result<HttpReply> HttpClient::request(std::string_view method, const std::string& path,
                                      const std::string& body, std::string_view content_type) {
  if (options_.hosts.empty()) return Error{ErrorCode::kInvalidArgument, "no OpenSearch host"};
  auto handle = lease();
  if (handle->curl == nullptr) return Error{ErrorCode::kInternal, "curl_easy_init failed"};
  CURL* curl = handle->curl;
  std::string last_error;
  const std::size_t count = options_.hosts.size();
  const std::size_t first = preferred_.load(std::memory_order_relaxed) % count;
  for (std::size_t attempt = 0; attempt < count; ++attempt) {
    const std::size_t host = (first + attempt) % count;
    const std::string url =
        std::string(options_.https ? "https://" : "http://") + options_.hosts[host] + path;
    curl_easy_reset(curl);
    HttpReply reply;
    curl_slist* headers = nullptr;
    const std::string type_header = "Content-Type: " + std::string(content_type);
    headers = curl_slist_append(headers, type_header.c_str());
    headers = curl_slist_append(headers, "Accept: application/json");
    std::string key_header;
    if (!options_.api_key.empty()) {
      key_header = "Authorization: ApiKey " + options_.api_key;
      headers = curl_slist_append(headers, key_header.c_str());
    }
    const std::string verb(method);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, verb.c_str());
    if (verb == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (!body.empty() || verb == "POST" || verb == "PUT") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.tls_verify ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.tls_verify ? 2L : 0L);
    if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.basic_auth.empty()) {
      curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(curl, CURLOPT_USERPWD, options_.basic_auth.c_str());
    }
    const CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (code == CURLE_OK) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
      preferred_.store(host, std::memory_order_relaxed);
      give_back(std::move(handle));
      return reply;
    }
    last_error = std::string(options_.https ? "https://" : "http://") + options_.hosts[host] + ": " +
                 curl_easy_strerror(code);
    if (code == CURLE_SSL_CACERT || code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CERTPROBLEM) {
      break;  // the same certificate problem on every node: say so at once
    }
  }
  give_back(std::move(handle));
  return Error{ErrorCode::kUnavailable, "OpenSearch is unreachable (" + last_error + ")"};
}

}  // namespace visearch::search::opensearch
