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
#include "search/search_service.h"

namespace visearch::cli {

void add_catalog_command(CLI::App& app, int* exit_code);

// The models visual search runs: the detector (labels, main objects) and the embedder (crops).
struct SearchModels {
  std::unique_ptr<Detector> detector;
  std::unique_ptr<Embedder> embedder;
};
Result<SearchModels> load_search_models(const ModelOptions& options, const std::string& detector_name,
                                        const std::string& embedder_name);

// --data-dir, defaulting to $VISEARCH_DATA_DIR; kInvalidArgument when neither is set.
Result<std::string> resolve_data_dir(const std::string& flag);

// The catalog in `data_dir` opened for searching (never created): `mapping` (empty: the shipped label
// mapping) and `index` (auto, exact or hnsw), as `visearch search` and `visearch search-eval` take them.
Result<std::unique_ptr<search::SearchService>> open_search_service(const std::string& data_dir,
                                                                   const std::string& mapping,
                                                                   const std::string& index);

}  // namespace visearch::cli
