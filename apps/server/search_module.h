// The visual-search routes of `visearch serve` (a ServerModule, listed in modules.cpp):
//
//   POST   /v1/search                      photo -> detected objects, each with ranked products
//   GET    /v1/products?q=&category=&...   list / full-text search of products
//   POST   /v1/products                    bulk import (JSON, JSON Lines or CSV body; images inline)
//   GET    /v1/products/{id}               one product
//   DELETE /v1/products/{id}               delete one product
//   GET    /v1/products/{id}/images/{n}    a product image (ETag, conditional GET)
//   GET    /v1/catalog                     catalog statistics and categories
//
// The catalog lives in ServerOptions::data_dir (empty: these routes answer 503 with a hint). load()
// opens it and loads one Embedder per inference worker; detection and embedding of a request always run
// on an inference worker (ServerContext::run_on_worker), ranking and catalog reads on the HTTP thread.
// Writes are protected by the API key like every /v1 route. See docs/search.md for the JSON shapes.
//
// Thread-safety: handlers run concurrently on HTTP threads; the module's state is immutable after load()
// except the SearchService, which is itself thread-safe.
#pragma once

#include "server/server_context.h"

namespace visearch::server {

ServerModule search_module();

}  // namespace visearch::server
