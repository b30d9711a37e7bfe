// Fuzzes the parsers of untrusted search input. The first byte chooses the parser, the rest is its input:
//   0: a JSONL catalog, 1: a CSV catalog, 2: a JSON-array catalog (the bodies of POST /v1/products and the
//   files of `visearch catalog import`), parsed as over HTTP (no file paths) and as from the CLI;
//   3: search parameters, as NAME=VALUE lines (the fields of POST /v1/search), and a box;
//   4: a judgments file of `visearch search-eval` (JSON lines), and --k cut-offs;
//   5: a shopper feedback log (`search-eval --feedback`: JSON lines joined into judgments), the same bytes as
//      a POST /v1/search/feedback body and as a logged embedding, the --objective of `--tune`, a stored
//      colour profile (catalog.db's image_objects.colour) and a product's colour attribute;
//   6: a catalog adaptation file (catalog/adaptation.bin: a damaged one must be an error), and when it
//   parses,
//      a query and every stored product projected through it.
// Every parse must return a value or an error: no crash, no sanitizer report, no exception.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "search/adaptation.h"
#include "search/catalog_import.h"
#include "search/colour.h"
#include "search/feedback_log.h"
#include "search/search_eval.h"
#include "search/search_json.h"

namespace {

void parse_parameters(std::string_view text) {
  std::map<std::string, std::string> params;
  std::size_t start = 0;
  while (start <= text.size() && params.size() < 64) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    const std::size_t eq = line.find('=');
    if (eq != std::string_view::npos)
      params[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    start = end + 1;
  }
  static_cast<void>(visearch::search::parse_search_parameters(params));
  static_cast<void>(visearch::search::parse_box(text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): libFuzzer hands bytes
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  using visearch::search::ImportFormat;
  switch (data[0] % 7) {
    case 0:
    case 1:
    case 2: {
      const auto format = static_cast<ImportFormat>(data[0] % 3);
      visearch::search::ParseOptions http;
      http.allow_paths = false;
      http.max_rows = 1000;
      static_cast<void>(visearch::search::parse_catalog(text, format, http));
      visearch::search::ParseOptions cli;
      cli.max_rows = 1000;
      static_cast<void>(visearch::search::parse_catalog(text, format, cli));
      break;
    }
    case 4: {
      visearch::search::JudgmentLimits limits;
      limits.max_queries = 1000;
      static_cast<void>(visearch::search::parse_judgments(text, "/base", limits));
      static_cast<void>(visearch::search::parse_cutoffs(text));
      break;
    }
    case 5: {
      visearch::search::FeedbackReader::Limits limits;
      limits.max_line_bytes = 1 << 16;
      limits.max_events = 1000;
      visearch::search::FeedbackReader reader(limits);
      reader.add(text);
      reader.add(text);  // a second file with the same events: duplicates
      static_cast<void>(reader.queries());
      static_cast<void>(visearch::search::parse_feedback_body(text));
      static_cast<void>(visearch::search::decode_embedding(text, 4096));
      static_cast<void>(visearch::search::parse_objective(text));
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());  // NOLINT: a stored profile
      static_cast<void>(
          visearch::search::colour_from_bytes(std::span<const std::uint8_t>(bytes, text.size())));
      static_cast<void>(visearch::search::declared_colours({{"color", std::string(text)}}));
      break;
    }
    case 6: {
      auto adaptation = visearch::search::EmbeddingAdaptation::parse(text, "fuzz");
      if (!adaptation || adaptation->in_dim > 4096) break;
      std::vector<float> x(static_cast<std::size_t>(adaptation->in_dim), 0.F);
      x[0] = 1.F;
      static_cast<void>(adaptation->project(x));
      for (const auto& [id, values] : adaptation->product_attributes)
        static_cast<void>(adaptation->project(x, 0, &values));
      break;
    }
    default:
      parse_parameters(text);
  }
  return 0;
}
