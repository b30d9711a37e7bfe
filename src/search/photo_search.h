// Search by photo, transport-free: from encoded image bytes to the answer JSON. `visearch search` and
// POST /v1/search both run the same two steps, so the same photo and parameters give the same answer (the
// server adds only its request id):
//   1. analyse_photo(): decode (with the caller's limits), detect, crop and embed the objects. Model work:
//      the server runs it on an inference worker with that worker's detector and embedder.
//   2. answer_photo_search(): rank each object's products in the Catalog (any engine) and write the answer:
//      image size, ranking, catalog generation, facets, objects with their products, source, model,
//      embedder and timing (decode, detect, embed, rank, total).
// Thread-safety: both are reentrant; step 2 may run on another thread than step 1.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "io/image_decode.h"
#include "model/detector.h"
#include "model/embedder.h"
#include "search/catalog.h"
#include "search/catalog_import.h"
#include "search/object_analysis.h"

namespace visearch::search {

struct PhotoAnalysis {
  QueryAnalysis analysis;
  Size size;  // of the upright decoded photo, pixels
  double decode_ms = 0;
};

Result<PhotoAnalysis> analyse_photo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                                    const Detector& detector, const Embedder& embedder,
                                    const QueryAnalysisOptions& options);

// The catalog side of the same work: one product photo decoded and analysed for import (its main objects
// and whole-image entry, each with its embedding); what catalog imports call for every image, from the CLI
// and over HTTP alike.
Result<AnalyzedImage> analyse_product_photo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                                            const Detector& detector, const Embedder& embedder);

// What the answer names besides the ranking.
struct PhotoSearchSource {
  std::string source;    // the file name or path the photo came from ("request" when none)
  std::string model;     // the detector
  std::string embedder;  // the embedding model
  std::chrono::steady_clock::time_point started;  // when the request began (for timing_ms.total)
};

struct PhotoSearchAnswer {
  SearchResult result;
  nlohmann::json body;
};

Result<PhotoSearchAnswer> answer_photo_search(Catalog& catalog, const PhotoAnalysis& photo,
                                              const SearchOptions& options, const PhotoSearchSource& source);

}  // namespace visearch::search
