// `visearch catalog import|delete|stats|list|gc|demo`: the product catalog from the command line (see
// docs/search.md). Also the model loading shared with `visearch search`.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/common.h"
#include "core/result.h"
#include "model/detector.h"
#include "model/embedder.h"
#include "search/catalog.h"

namespace visearch::cli {

void add_catalog_command(CLI::App& app, int* exit_code);

// The models visual search runs: the detector (labels, main objects) and the embedder (crops).
struct SearchModels {
  std::unique_ptr<Detector> detector;
  std::unique_ptr<Embedder> embedder;
};
Result<SearchModels> load_search_models(const ModelOptions& options, const std::string& detector_name,
                                        const std::string& embedder_name);
Result<std::unique_ptr<Embedder>> load_embedder(const ModelOptions& options,
                                                const std::string& embedder_name);

// Where the catalog is: --catalog URI (sqlite:DIR or opensearch+http(s)://HOSTS/PREFIX) or --data-dir DIR
// (= sqlite:DIR), defaulting to $VISEARCH_CATALOG, then $VISEARCH_DATA_DIR; plus the OpenSearch connection
// options (credentials file, CA bundle, TLS verification).
struct CatalogFlags {
  std::string data_dir;
  std::string uri;
  std::string credentials;
  std::string ca_file;
  bool insecure = false;
};
void add_catalog_flags(CLI::App& cmd, CatalogFlags& flags);
// The catalog URI the flags and environment name; kInvalidArgument when none (or both flags) are given.
Result<std::string> resolve_catalog_uri(const CatalogFlags& flags);

// Opens the catalog the flags name. `create`: make an empty one when there is none (imports).
// `mapping` (empty: the shipped label mapping) and `index` (auto, exact or hnsw; SQLite only) as
// `visearch search` and `visearch search-eval` take them.
Result<std::unique_ptr<search::Catalog>> open_cli_catalog(const CatalogFlags& flags, bool create,
                                                          const std::string& mapping = {},
                                                          const std::string& index = "auto");

}  // namespace visearch::cli
