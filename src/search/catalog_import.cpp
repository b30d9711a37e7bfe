#include "search/catalog_import.h"

#include "core/json_text.h"
#include "core/sha256.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "search/text_util.h"

namespace visearch::search {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxTitleBytes = 500;
constexpr std::size_t kMaxDescriptionBytes = 20000;
constexpr std::size_t kMaxShortField = 200;
constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kMaxImages = 20;
constexpr std::size_t kMaxAttributes = 100;

Unexpected bad(const std::string& message) {
  return Unexpected{ErrorCode::kInvalidArgument, message};
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

std::string trim(std::string_view text) {
  std::size_t b = 0;
  std::size_t e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b])) != 0) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1])) != 0) --e;
  return std::string(text.substr(b, e - b));
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

// Standard base64 (padding optional, whitespace ignored) or a data: URL.
Result<std::string> decode_base64_text(std::string_view text) {
  if (text.rfind("data:", 0) == 0) {
    const std::size_t comma = text.find(',');
    if (comma == std::string_view::npos || text.substr(0, comma).find(";base64") == std::string_view::npos) {
      return bad("a data: URL must be base64 (data:image/...;base64,...)");
    }
    text = text.substr(comma + 1);
  }
  static constexpr std::array<int, 256> kTable = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < alphabet.size(); ++i)
      t[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
    return t;
  }();
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = kTable[static_cast<unsigned char>(c)];
    if (v < 0 || padding) return bad("image data is not valid base64");
    buffer = (buffer << 6U) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU));
    }
  }
  if (out.empty()) return bad("image data is empty");
  return out;
}

namespace {

Result<std::string> string_field(const json& object, const char* key, std::size_t max_bytes, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return bad(std::string("missing required field \"") + key + "\"");
    return std::string();
  }
  if (!it->is_string()) return bad(std::string("\"") + key + "\" must be a string");
  std::string value = trim(it->get<std::string>());
  if (required && value.empty()) return bad(std::string("\"") + key + "\" is empty");
  if (value.size() > max_bytes) {
    return bad(std::string("\"") + key + "\" is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return value;
}

Result<ImageInput> parse_image_entry(const json& entry, std::size_t index, const ParseOptions& options) {
  const std::string where = "images[" + std::to_string(index) + "]";
  ImageInput image;
  std::string path;
  std::string data;
  if (entry.is_string()) {
    const auto& text = entry.get_ref<const std::string&>();
    if (text.rfind("data:", 0) == 0) {
      data = text;
    } else {
      path = text;
    }
  } else if (entry.is_object()) {
    if (entry.contains("path") && entry["path"].is_string()) path = entry["path"].get<std::string>();
    if (entry.contains("data") && entry["data"].is_string()) data = entry["data"].get<std::string>();
    if (path.empty() == data.empty()) return bad(where + R"( needs exactly one of "path" or "data")");
  } else {
    return bad(where + R"( must be a path, a data: URL or {"path"|"data": ...})");
  }
  if (!data.empty()) {
    auto bytes = decode_base64_text(data);
    if (!bytes) return bad(where + ": " + bytes.error().message);
    image.data = std::move(*bytes);
    image.inline_data = true;
    return image;
  }
  path = trim(path);
  if (path.empty()) return bad(where + " is an empty path");
  if (!options.allow_paths) {
    return bad(
        where +
        ": file paths are not accepted here; send the image inline ({\"data\": base64} or a data: URL)");
  }
  if (has_control(path)) return bad(where + " has control characters");
  image.path = path;
  return image;
}

Result<std::string> attribute_value(const json& value, const std::string& key) {
  if (value.is_string()) return trim(value.get<std::string>());
  if (value.is_number() || value.is_boolean()) return to_json_text(value);
  return bad("attribute \"" + key + "\" must be a string, number or boolean");
}

Status check_attribute(const std::string& key, const std::string& value) {
  if (key.empty() || key.size() > 100 || has_control(key) || key.find('"') != std::string::npos) {
    return bad("attribute name \"" + key +
               "\" must be 1..100 characters without quotes or control characters");
  }
  if (value.size() > 500) return bad("attribute \"" + key + "\" is longer than 500 bytes");
  return ok_status();
}

// --------------------------------------------------------------------------------------------- CSV

struct CsvRecord {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

// Splits RFC 4180 text into records; a malformed record (quote in an unquoted field, unterminated quote)
// becomes an error for its first line.
void split_csv(std::string_view text, std::vector<CsvRecord>& records, std::vector<RowError>& errors) {
  std::size_t i = 0;
  std::size_t line = 1;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // UTF-8 byte order mark
  while (i < text.size()) {
    CsvRecord record;
    record.line = line;
    std::string field;
    bool in_quotes = false;
    bool quoted = false;
    bool broken = false;
    std::string problem;
    bool end_of_record = false;
    while (i < text.size() && !end_of_record) {
      const char c = text[i];
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            ++i;
          } else {
            in_quotes = false;
          }
        } else {
          if (c == '\n') ++line;
          field.push_back(c);
        }
        ++i;
        continue;
      }
      if (c == ',') {
        record.fields.push_back(std::move(field));
        field.clear();
        quoted = false;
      } else if (c == '\r' || c == '\n') {
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        ++line;
        end_of_record = true;
      } else if (c == '"') {
        if (field.empty() && !quoted) {
          in_quotes = true;
          quoted = true;
        } else if (!broken) {
          broken = true;
          problem = "a quote inside an unquoted field (quote the whole field and double inner quotes)";
        }
      } else {
        if (quoted && !broken) {
          broken = true;
          problem = "text after a closing quote";
        }
        field.push_back(c);
      }
      ++i;
    }
    if (in_quotes) {
      broken = true;
      problem = "a quoted field is never closed";
    }
    record.fields.push_back(std::move(field));
    const bool blank = record.fields.size() == 1 && trim(record.fields[0]).empty() && !quoted;
    if (broken) {
      errors.push_back(RowError{record.line, "", "malformed CSV: " + problem});
    } else if (!blank) {
      records.push_back(std::move(record));
    }
  }
}

// Converts a CSV record to the product JSON object parse_product_json() takes.
Result<json> csv_to_json(const std::vector<std::string>& header, const CsvRecord& record) {
  if (record.fields.size() != header.size()) {
    return bad("has " + std::to_string(record.fields.size()) + " fields; the header has " +
               std::to_string(header.size()));
  }
  json object = json::object();
  json attributes = json::object();
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (!is_valid_utf8(record.fields[c]) || !is_valid_utf8(header[c])) {
      return bad("field " + std::to_string(c + 1) + " is not valid UTF-8 text");
    }
    const std::string& name = header[c];
    const std::string value = trim(record.fields[c]);
    if (name == "id" || name == "title" || name == "description" || name == "category" || name == "brand" ||
        name == "currency" || name == "url") {
      object[name] = value;
    } else if (name == "price") {
      if (value.empty()) continue;
      char* end = nullptr;
      const double price = std::strtod(value.c_str(), &end);
      if (end != value.c_str() + value.size()) return bad("price '" + value + "' is not a number");
      object["price"] = price;
    } else if (name == "images" || name == "image" || name == "image_path" || name == "image_paths") {
      json images = json::array();
      std::size_t start = 0;
      while (start <= value.size()) {
        const std::size_t bar = value.find('|', start);
        const std::string part =
            trim(value.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
        if (!part.empty()) images.push_back(part);
        if (bar == std::string::npos) break;
        start = bar + 1;
      }
      object["images"] = images;
    } else if (name == "attributes") {
      if (value.empty()) continue;
      if (value.front() == '{') {
        const json parsed = json::parse(value, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_object()) return bad("attributes is not a JSON object");
        for (const auto& [k, v] : parsed.items()) attributes[k] = v;
      } else {
        std::size_t start = 0;
        while (start < value.size()) {
          const std::size_t semi = value.find(';', start);
          const std::string pair =
              value.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
          const std::size_t eq = pair.find('=');
          if (eq == std::string::npos) {
            if (!trim(pair).empty()) return bad("attributes entry '" + pair + "' is not key=value");
          } else {
            attributes[trim(pair.substr(0, eq))] = trim(pair.substr(eq + 1));
          }
          if (semi == std::string::npos) break;
          start = semi + 1;
        }
      }
    } else if (!value.empty()) {
      const std::string key =
          name.rfind("attr.", 0) == 0 || name.rfind("attr:", 0) == 0 ? name.substr(5) : name;
      attributes[key] = value;
    }
  }
  if (!attributes.empty()) object["attributes"] = attributes;
  return object;
}

std::string row_id_of(const json& object) {
  auto it = object.find("id");
  if (it != object.end() && it->is_string()) return it->get<std::string>();
  if (it != object.end() && it->is_number_integer()) return it->dump();
  return {};
}

}  // namespace

Status validate_product_id(std::string_view id) {
  if (id.empty()) return bad("\"id\" is empty");
  if (id.size() > kMaxIdBytes) return bad("\"id\" is longer than " + std::to_string(kMaxIdBytes) + " bytes");
  if (has_control(id)) return bad("\"id\" has control characters");
  if (id.find('/') != std::string_view::npos || id.find('\\') != std::string_view::npos) {
    return bad(R"("id" must not contain '/' or '\')");
  }
  if (id == "." || id == "..") return bad("\"id\" must not be . or ..");
  if (trim(id) != id) return bad("\"id\" must not start or end with spaces");
  return ok_status();
}

Result<ImportFormat> import_format_of(const std::string& path) {
  const std::string ext = lower(fs::path(path).extension().string());
  if (ext == ".jsonl" || ext == ".ndjson") return ImportFormat::kJsonl;
  if (ext == ".csv") return ImportFormat::kCsv;
  if (ext == ".json") return ImportFormat::kJson;
  return bad("cannot tell the format of " + path + " from its extension; use .jsonl, .csv or .json");
}

Result<ImportRow> parse_product_json(const json& object, std::size_t line, const ParseOptions& options) {
  if (!object.is_object()) return bad("a product must be a JSON object");
  ImportRow row;
  row.line = line;
  Product& p = row.product;
  auto id_node = object.find("id");
  if (id_node == object.end() || id_node->is_null()) return bad("missing required field \"id\"");
  if (id_node->is_number_integer()) {
    p.id = id_node->dump();
  } else if (id_node->is_string()) {
    p.id = id_node->get<std::string>();
  } else {
    return bad("\"id\" must be a string");
  }
  VISEARCH_TRY(validate_product_id(p.id));
  auto title = string_field(object, "title", kMaxTitleBytes, true);
  auto description = string_field(object, "description", kMaxDescriptionBytes, false);
  auto category = string_field(object, "category", kMaxShortField, false);
  auto brand = string_field(object, "brand", kMaxShortField, false);
  auto currency = string_field(object, "currency", 8, false);
  for (auto* field : {&title, &description, &category, &brand, &currency}) {
    if (!*field) return field->error();
  }
  p.title = std::move(*title);
  p.description = std::move(*description);
  p.category = std::move(*category);
  p.brand = std::move(*brand);
  p.currency = std::move(*currency);
  if (has_control(p.title) || has_control(p.category) || has_control(p.brand) || has_control(p.currency)) {
    return bad("title, category, brand and currency must not contain control characters");
  }
  // The product's page in the shop: shown to shoppers as a link, so only an absolute http(s) URL.
  auto url = string_field(object, "url", kMaxUrlBytes, false);
  if (!url) return url.error();
  p.url = std::move(*url);
  if (!p.url.empty()) {
    const std::string lower = [&] {
      std::string s = p.url.substr(0, 8);
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    }();
    const bool web = lower.starts_with("https://") || lower.starts_with("http://");
    const bool plain = std::none_of(p.url.begin(), p.url.end(), [](char c) {
      return static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '<' || c == '>' || c == '\\' ||
             c == 0x7f;
    });
    if (!web || !plain || p.url.size() <= lower.find("//") + 2) {
      return bad("\"url\" must be an absolute http:// or https:// address without spaces or quotes");
    }
  }
  if (auto price = object.find("price"); price != object.end() && !price->is_null()) {
    double value = 0;
    if (price->is_number()) {
      value = price->get<double>();
    } else if (price->is_string()) {
      const std::string text = trim(price->get<std::string>());
      char* end = nullptr;
      value = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size())
        return bad("\"price\" '" + text + "' is not a number");
    } else {
      return bad("\"price\" must be a number");
    }
    if (!std::isfinite(value) || value < 0.0) return bad("\"price\" must be a non-negative number");
    p.price = value;
  }
  if (auto attributes = object.find("attributes"); attributes != object.end() && !attributes->is_null()) {
    if (!attributes->is_object()) return bad("\"attributes\" must be an object of name: value");
    if (attributes->size() > kMaxAttributes)
      return bad("more than " + std::to_string(kMaxAttributes) + " attributes");
    for (const auto& [key, value] : attributes->items()) {
      auto text = attribute_value(value, key);
      if (!text) return text.error();
      VISEARCH_TRY(check_attribute(trim(key), *text));
      p.attributes[trim(key)] = std::move(*text);
    }
  }
  json images = json::array();
  if (auto it = object.find("images"); it != object.end() && !it->is_null()) {
    if (it->is_array()) {
      images = *it;
    } else if (it->is_string()) {
      images.push_back(*it);
    } else {
      return bad("\"images\" must be an array");
    }
  } else if (auto one = object.find("image"); one != object.end() && !one->is_null()) {
    images.push_back(*one);
  }
  if (images.empty()) return bad("a product needs at least one image (\"images\": [...])");
  if (images.size() > kMaxImages) return bad("more than " + std::to_string(kMaxImages) + " images");
  for (std::size_t i = 0; i < images.size(); ++i) {
    auto image = parse_image_entry(images[i], i, options);
    if (!image) return image.error();
    row.images.push_back(std::move(*image));
  }
  return row;
}

ParsedCatalog parse_catalog(std::string_view text, ImportFormat format, const ParseOptions& options) {
  ParsedCatalog parsed;
  const auto add = [&](const json& object, std::size_t line) {
    if (parsed.rows.size() >= options.max_rows) {
      parsed.errors.push_back(
          RowError{line, row_id_of(object),
                   "more than " + std::to_string(options.max_rows) + " products in one import"});
      return;
    }
    auto row = parse_product_json(object, line, options);
    if (!row) {
      parsed.errors.push_back(RowError{line, row_id_of(object), row.error().message});
    } else {
      parsed.rows.push_back(std::move(*row));
    }
  };
  switch (format) {
    case ImportFormat::kJsonl: {
      std::size_t line = 0;
      std::size_t start = 0;
      while (start < text.size()) {
        ++line;
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string content = trim(text.substr(start, end - start));
        start = end + 1;
        if (content.empty()) continue;
        const json object = json::parse(content, nullptr, false);
        if (object.is_discarded()) {
          parsed.errors.push_back(RowError{line, "", "not valid JSON"});
          continue;
        }
        if (!object.is_object()) {
          parsed.errors.push_back(RowError{line, "", "a line must hold one JSON object"});
          continue;
        }
        add(object, line);
      }
      break;
    }
    case ImportFormat::kCsv: {
      std::vector<CsvRecord> records;
      split_csv(text, records, parsed.errors);
      if (records.empty()) break;
      std::vector<std::string> header;
      for (const std::string& name : records.front().fields) header.push_back(lower(trim(name)));
      if (std::find(header.begin(), header.end(), "id") == header.end()) {
        parsed.errors.push_back(RowError{records.front().line, "", "the CSV header has no \"id\" column"});
        break;
      }
      for (std::size_t r = 1; r < records.size(); ++r) {
        auto object = csv_to_json(header, records[r]);
        if (!object) {
          parsed.errors.push_back(RowError{records[r].line, "", object.error().message});
          continue;
        }
        add(*object, records[r].line);
      }
      break;
    }
    case ImportFormat::kJson: {
      const json doc = json::parse(text, nullptr, false);
      const json* list = nullptr;
      if (doc.is_array()) {
        list = &doc;
      } else if (doc.is_object() && doc.contains("products") && doc["products"].is_array()) {
        list = &doc["products"];
      }
      if (list == nullptr) {
        parsed.errors.push_back(
            RowError{0, "", "the body must be a JSON array of products or {\"products\": [...]}"});
        break;
      }
      for (std::size_t i = 0; i < list->size(); ++i) add((*list)[i], i + 1);
      break;
    }
  }
  std::sort(parsed.errors.begin(), parsed.errors.end(),
            [](const RowError& a, const RowError& b) { return a.line < b.line; });
  for (RowError& e : parsed.errors) {  // they echo the input, and reports are JSON
    e.id = printable_utf8(e.id, 128);
    e.message = printable_utf8(e.message, 500);
  }
  return parsed;
}

Result<ImportReport> import_catalog(Catalog& store, const ParsedCatalog& parsed,
                                    const AnalyzeImageFn& analyze, const ImportOptions& options) {
  ImportReport report;
  report.errors = parsed.errors;
  std::vector<ProductRecord> records;
  const std::string base = options.images_dir.empty() ? options.base_dir : options.images_dir;
  std::size_t done = 0;
  std::map<std::string, AnalyzedImage> analyzed_in_this_import;  // by content sha256
  for (const ImportRow& row : parsed.rows) {
    ProductRecord record;
    record.product = row.product;
    std::string failure;
    for (std::size_t n = 0; n < row.images.size() && failure.empty(); ++n) {
      const ImageInput& input = row.images[n];
      std::vector<std::uint8_t> bytes;
      std::string source = "inline";
      if (input.inline_data) {
        bytes.assign(input.data.begin(), input.data.end());
      } else {
        fs::path path(input.path);
        if (path.is_relative() && !base.empty()) path = fs::path(base) / path;
        source = path.string();
        auto read = read_file_bytes(source, options.max_image_bytes, FileKind::kRegularOnly);
        if (!read) {
          failure = "image " + std::to_string(n) + " (" + input.path + "): " + read.error().message;
          break;
        }
        bytes = std::move(*read);
      }
      const std::string sha = sha256_hex(bytes);
      AnalyzedImage analyzed;
      bool reused = false;
      if (auto seen = analyzed_in_this_import.find(sha); seen != analyzed_in_this_import.end()) {
        analyzed = seen->second;
        reused = true;
      } else if (auto known = store.indexed_objects_for(sha); known && known->has_value()) {
        auto decoded = decode_image(bytes, DecodeLimits{});
        if (decoded) {
          analyzed.format = decoded->format;
          analyzed.width = decoded->image.width;
          analyzed.height = decoded->image.height;
          analyzed.objects = std::move(**known);
          // Objects indexed before colours were stored get theirs now, from the same upright pixels.
          for (IndexedObject& object : analyzed.objects) {
            if (!has_colour(object.colour)) object.colour = colour_profile(decoded->image, object.box);
          }
          reused = true;
        }
      }
      if (!reused) {
        auto result = analyze(bytes);
        if (!result) {
          failure = "image " + std::to_string(n) + " (" + (input.inline_data ? "inline" : input.path) +
                    "): " + result.error().message;
          break;
        }
        analyzed = std::move(*result);
        analyzed_in_this_import.emplace(sha, analyzed);
      }
      auto stored = store.store_image(bytes, analyzed.format);
      if (!stored) return stored.error();
      ProductImage image = std::move(*stored);
      image.n = static_cast<int>(n);
      image.width = analyzed.width;
      image.height = analyzed.height;
      image.source = source;
      record.product.images.push_back(std::move(image));
      for (IndexedObject& object : analyzed.objects) {
        object.image_n = static_cast<int>(n);
        record.objects.push_back(std::move(object));
      }
      ++(reused ? report.images_reused : report.images_indexed);
    }
    if (!failure.empty()) {
      report.errors.push_back(RowError{row.line, row.product.id, failure});
    } else {
      records.push_back(std::move(record));
    }
    if (options.progress) options.progress(++done, parsed.rows.size());
  }
  std::sort(report.errors.begin(), report.errors.end(),
            [](const RowError& a, const RowError& b) { return a.line < b.line; });
  for (RowError& e : report.errors) e.message = printable_utf8(e.message, 500);
  if (options.strict && !report.errors.empty()) return report;
  if (records.empty()) return report;
  auto upserted = store.upsert(records);
  if (!upserted) return upserted.error();
  report.inserted = upserted->inserted;
  report.updated = upserted->updated;
  report.generation = upserted->generation;
  report.committed = true;
  return report;
}

}  // namespace visearch::search
