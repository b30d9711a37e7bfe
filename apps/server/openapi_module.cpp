#include "server/openapi_module.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>

#include "core/json_text.h"

namespace visearch::server {

// Generated at build time from apps/server/openapi.json (apps/CMakeLists.txt).
extern const std::string_view kOpenApiDocument;

namespace {

using nlohmann::json;

constexpr const char* kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

bool served_by(const json& path_item, const std::string& command) {
  const auto commands = path_item.find("x-visearch-commands");
  if (commands == path_item.end() || !commands->is_array()) return true;
  return std::find(commands->begin(), commands->end(), json(command)) != commands->end();
}

// An operation that needs no key in this configuration: its security says so, and it never answers 401.
void open_operation(json& operation) {
  operation["security"] = json::array();
  if (auto responses = operation.find("responses"); responses != operation.end() && responses->is_object()) {
    responses->erase("401");
  }
}

}  // namespace

std::string_view openapi_source() {
  return kOpenApiDocument;
}

json openapi_document(const std::string& command, const ServerOptions& options) {
  json doc = json::parse(kOpenApiDocument);
  const bool keyed = !options.api_key_file.empty();
  json& paths = doc["paths"];
  for (auto item = paths.begin(); item != paths.end();) {
    if (!served_by(*item, command)) {
      item = paths.erase(item);
      continue;
    }
    for (const char* method : kMethods) {
      auto operation = item->find(method);
      if (operation == item->end()) continue;
      const bool is_public =
          keyed && options.public_search && operation->value("x-visearch-public-search", false);
      if (!keyed || is_public) open_operation(*operation);
    }
    ++item;
  }
  if (!keyed) doc["security"] = json::array();
  return doc;
}

ServerModule openapi_module(std::string command) {
  auto text = std::make_shared<std::string>();
  ServerModule module;
  module.name = "openapi";
  module.register_routes = [command = std::move(command), text](ServerContext& ctx) {
    // Parsed and filtered once, before the server listens. The embedded document is checked as JSON when it
    // is built, so this cannot fail on a binary that built.
    *text = to_json_text(openapi_document(command, ctx.options()), 2);
    ctx.route("/openapi.json", {{"GET", [text](const httplib::Request&, httplib::Response& res) {
                                   res.set_header("Cache-Control", "no-cache");
                                   res.set_content(*text, "application/json");
                                 }}});
  };
  return module;
}

}  // namespace visearch::server
