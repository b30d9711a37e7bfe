// Catalog import: parsing product files (JSON Lines, CSV, a JSON array/object) into validated rows, then
// indexing each row's images and writing everything to the Catalog in one write (one generation).
//
// Input formats (one product per line / row / array element):
//   JSONL  {"id": "p1", "title": "Blue mug", "description": "...", "category": "Mugs & Cups",
//           "brand": "Acme", "price": 12.5, "currency": "EUR", "attributes": {"color": "blue"},
//           "images": ["mug.jpg", {"path": "mug2.jpg"}, {"data": "<base64>"}, "data:image/png;base64,..."]}
//   CSV    a header row naming columns; id,title,description,category,brand,price,currency,images
//          (several separated by '|'), attributes (JSON object or k=v;k=v); any other column (or
//          attr.KEY) becomes an attribute. RFC 4180 quoting, quoted fields may span lines.
//   JSON   [{...}, ...] or {"products": [{...}, ...]}: the HTTP bulk body; "line" is the element's
//          1-based position.
// Image paths are resolved against `images_dir` when given, else against the import file's folder.
//
// Errors per row carry the row's line number (the first line of a CSV record) and never stop the others;
// with `strict`, any error means nothing is written. A kill or crash during import leaves the previous
// catalog (CatalogStore's transaction); image files already copied are unreferenced until collected.
// Thread-safety: parsing is pure; import_catalog() calls `analyze` from the calling thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "io/image_decode.h"
#include "search/catalog.h"
#include "search/product.h"

namespace visearch::search {

struct ImageInput {
  std::string path;  // a file path (CLI imports)
  std::string data;  // inline encoded bytes (base64 / data: URL already decoded)
  bool inline_data = false;
};

struct ImportRow {
  std::size_t line = 0;
  Product product;  // images empty; filled by import_catalog()
  std::vector<ImageInput> images;
};

struct RowError {
  std::size_t line = 0;
  std::string id;  // empty when the row has no usable id
  std::string message;
};

struct ParsedCatalog {
  std::vector<ImportRow> rows;
  std::vector<RowError> errors;
};

struct ParseOptions {
  bool allow_paths = true;  // false over HTTP: a client must not make the server read its files
  std::size_t max_rows = 1'000'000;
};

enum class ImportFormat { kJsonl, kCsv, kJson };

// By file extension: .jsonl/.ndjson, .csv, .json. kInvalidArgument otherwise.
Result<ImportFormat> import_format_of(const std::string& path);

ParsedCatalog parse_catalog(std::string_view text, ImportFormat format, const ParseOptions& options = {});

// One product JSON object -> a row (shared by all formats; also validates ids for HTTP paths).
Result<ImportRow> parse_product_json(const nlohmann::json& object, std::size_t line,
                                     const ParseOptions& options);
// Standard base64 (padding optional, whitespace ignored) or a data: URL, decoded; kInvalidArgument when it
// is neither. Used for inline product images and for the image bytes an OpenSearch catalog stores.
Result<std::string> decode_base64_text(std::string_view text);
// kInvalidArgument unless `id` is a usable product id: 1..128 bytes, no control characters, no '/' or '\'.
Status validate_product_id(std::string_view id);

// What indexing one image yields.
struct AnalyzedImage {
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0;
  int height = 0;
  std::vector<IndexedObject> objects;  // image_n is set by the importer
};

// Decodes and analyses one encoded image (runs the models); may be called many times.
using AnalyzeImageFn = std::function<Result<AnalyzedImage>(std::span<const std::uint8_t> bytes)>;

struct ImportOptions {
  bool strict = false;
  std::string images_dir;  // base for relative image paths ("" = base_dir)
  std::string base_dir;    // the import file's folder
  std::uint64_t max_image_bytes = std::uint64_t{64} << 20U;
  std::function<void(std::size_t done, std::size_t total)> progress;  // after each row
};

struct ImportReport {
  int inserted = 0;
  int updated = 0;
  int images_indexed = 0;
  int images_reused = 0;  // content already in the catalog: its objects were copied, not recomputed
  std::vector<RowError> errors;
  bool committed = false;
  std::int64_t generation = 0;
};

// Indexes every row's images (through `analyze`) and upserts all good rows in one transaction.
// `parsed.errors` are carried into the report. Errors returned (rather than reported per row) are those
// of the catalog itself: kIo, kUnavailable.
Result<ImportReport> import_catalog(Catalog& store, const ParsedCatalog& parsed,
                                    const AnalyzeImageFn& analyze, const ImportOptions& options);

}  // namespace visearch::search
