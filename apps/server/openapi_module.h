// GET /openapi.json: the OpenAPI 3.1 description of the running server's routes (a ServerModule, in the
// module lists of `visearch serve` (modules.cpp) and `visearch label` (label_command.cpp)).
//
// The source is apps/server/openapi.json, one document for both commands, compiled into the binary at build
// time (cmake/embed_file.cmake; the server never reads the repository). Each path item names the commands
// that serve it in `x-visearch-commands`; the served document keeps only the running command's paths and
// states the security its options give:
//   - without --api-key-file, no operation needs a key (and none answers 401);
//   - with --public-search, the operations marked `x-visearch-public-search` need none either.
// Like /ping, the route needs no key (it is not an API path: see is_api_path in http_server.cpp).
// tests/contract checks the document against the real servers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "server/server_context.h"

namespace visearch::server {

// The document as built into the binary (apps/server/openapi.json).
std::string_view openapi_source();

// The document a server of `command` ("serve" or "label") with `options` serves.
nlohmann::json openapi_document(const std::string& command, const ServerOptions& options);

ServerModule openapi_module(std::string command);

}  // namespace visearch::server
