#include "search/catalog.h"

#include <cctype>

#include "search/opensearch/opensearch_catalog.h"
#include "search/sqlite_catalog.h"

namespace visearch::search {
namespace {

constexpr const char* kForms =
    "; use sqlite:DIR (or a folder path) or opensearch+http(s)://HOST:PORT[,HOST:PORT...]/INDEX_PREFIX";

Error bad_uri(const std::string& why) {
  return Error{ErrorCode::kInvalidArgument, "--catalog: " + why + kForms};
}

bool valid_prefix(const std::string& prefix) {
  if (prefix.empty() || prefix.size() > 64 || prefix[0] == '_' || prefix[0] == '-') return false;
  for (const char c : prefix) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool valid_host(const std::string& host) {
  const auto colon = host.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host.size()) return false;
  const std::string port = host.substr(colon + 1);
  if (port.size() > 5) return false;
  for (const char c : port) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return false;
  }
  const long number = std::stol(port);
  if (number < 1 || number > 65535) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = host[i];
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '[' ||
                    c == ']' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<CatalogUri> parse_catalog_uri(const std::string& uri) {
  CatalogUri out;
  if (uri.empty()) return bad_uri("empty catalog");
  const std::string sqlite = "sqlite:";
  if (uri.rfind(sqlite, 0) == 0) {
    out.path = uri.substr(sqlite.size());
    if (out.path.empty()) return bad_uri("sqlite: needs a folder");
    return out;
  }
  std::string rest;
  if (uri.rfind("opensearch+http://", 0) == 0) {
    rest = uri.substr(18);
  } else if (uri.rfind("opensearch+https://", 0) == 0) {
    rest = uri.substr(19);
    out.https = true;
  } else if (uri.find("://") != std::string::npos || uri.rfind("opensearch", 0) == 0) {
    return bad_uri("unknown catalog '" + uri + "'");
  } else {
    out.path = uri;  // a plain folder
    return out;
  }
  out.engine = CatalogUri::Engine::kOpenSearch;
  const auto slash = rest.find('/');
  if (slash == std::string::npos) return bad_uri("'" + uri + "' has no /INDEX_PREFIX");
  const std::string authority = rest.substr(0, slash);
  out.prefix = rest.substr(slash + 1);
  if (authority.find('@') != std::string::npos) {
    return Error{ErrorCode::kInvalidArgument,
                 "--catalog: credentials in the URI would show in process lists and logs; put them in a file "
                 "and pass --catalog-credentials FILE"};
  }
  std::size_t start = 0;
  while (start <= authority.size()) {
    const auto comma = authority.find(',', start);
    const std::string host =
        authority.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!valid_host(host)) return bad_uri("'" + host + "' is not HOST:PORT");
    out.hosts.push_back(host);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!valid_prefix(out.prefix)) {
    return bad_uri("index prefix '" + out.prefix +
                   "' must be 1-64 characters of a-z, 0-9, '-' and '_', not starting with '-' or '_'");
  }
  return out;
}

Result<std::unique_ptr<Catalog>> open_catalog(const CatalogOpenOptions& options) {
  auto uri = parse_catalog_uri(options.uri);
  if (!uri) return uri.error();
  if (uri->engine == CatalogUri::Engine::kSqlite) {
    auto catalog = SqliteCatalog::open(uri->path, options);
    if (!catalog) return catalog.error();
    return std::unique_ptr<Catalog>(std::move(*catalog));
  }
  auto catalog = OpenSearchCatalog::open(*uri, options);
  if (!catalog) return catalog.error();
  return std::unique_ptr<Catalog>(std::move(*catalog));
}

}  // namespace visearch::search
