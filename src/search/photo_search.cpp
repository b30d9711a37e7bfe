#include "search/photo_search.h"

#include "search/search_json.h"

namespace visearch::search {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

Result<PhotoAnalysis> analyse_photo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                                    const Detector& detector, const Embedder& embedder,
                                    const QueryAnalysisOptions& options) {
  const auto start = Clock::now();
  auto decoded = decode_image(bytes, limits);
  if (!decoded) return decoded.error();
  PhotoAnalysis photo;
  photo.decode_ms = ms_since(start);
  photo.size = Size{decoded->image.width, decoded->image.height};
  auto analysis = analyze_query_image(decoded->image, detector, embedder, options);
  if (!analysis) return analysis.error();
  photo.analysis = std::move(*analysis);
  return photo;
}

Result<AnalyzedImage> analyse_product_photo(std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
                                            const Detector& detector, const Embedder& embedder) {
  auto decoded = decode_image(bytes, limits);
  if (!decoded) return decoded.error();
  auto objects = analyze_product_image(decoded->image, 0, detector, embedder);
  if (!objects) return objects.error();
  return AnalyzedImage{decoded->format, decoded->image.width, decoded->image.height, std::move(*objects)};
}

Result<PhotoSearchAnswer> answer_photo_search(Catalog& catalog, const PhotoAnalysis& photo,
                                              const SearchOptions& options, const PhotoSearchSource& source) {
  auto result = catalog.search(photo.analysis.objects, options);
  if (!result) return result.error();
  PhotoSearchAnswer answer;
  answer.body = search_result_to_json(*result, photo.size, options.ranking);
  answer.body["source"] = source.source;
  answer.body["model"] = source.model;
  answer.body["embedder"] = source.embedder;
  answer.body["timing_ms"] = {{"decode", photo.decode_ms},
                              {"detect", photo.analysis.detect_ms},
                              {"embed", photo.analysis.embed_ms},
                              {"rank", result->rank_ms},
                              {"total", ms_since(source.started)}};
  answer.result = std::move(*result);
  return answer;
}

}  // namespace visearch::search
