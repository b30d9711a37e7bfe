#include "search/search_json.h"
#include "core/json_text.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace visearch::search {
namespace {

using nlohmann::json;

Unexpected bad(const std::string& message) {
  return Unexpected{ErrorCode::kInvalidArgument, message};
}

double round_to(double value, double unit) {
  // Divide by the inverse (an exact power of ten) rather than multiply by `unit`, which is not exactly
  // representable: 8985 / 1e4 prints as 0.8985, 8985 * 1e-4 as 0.8985000000000001.
  const double inverse = std::round(1.0 / unit);
  return std::round(value * inverse) / inverse;
}

json box_json(const ImageBox& b) {
  return json{{"x1", round_to(static_cast<double>(b.x1), 0.1)},
              {"y1", round_to(static_cast<double>(b.y1), 0.1)},
              {"x2", round_to(static_cast<double>(b.x2), 0.1)},
              {"y2", round_to(static_cast<double>(b.y2), 0.1)}};
}

Result<double> parse_number(const std::string& name, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) {
    return bad(name + " must be a number (got '" + text + "')");
  }
  return value;
}

}  // namespace

std::string url_encode_component(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4U]);
      out.push_back(kHex[u & 0xFU]);
    }
  }
  return out;
}

std::string product_image_url(const std::string& id, int n) {
  return "/v1/products/" + url_encode_component(id) + "/images/" + std::to_string(n);
}

json product_to_json(const Product& p) {
  json images = json::array();
  for (const ProductImage& image : p.images) {
    images.push_back(json{{"n", image.n},
                          {"url", product_image_url(p.id, image.n)},
                          {"width", image.width},
                          {"height", image.height},
                          {"content_type", image.content_type}});
  }
  return json{
      {"id", p.id},
      {"title", p.title},
      {"description", p.description},
      {"category", p.category},
      {"brand", p.brand},
      {"price", p.price ? json(*p.price) : json(nullptr)},
      {"currency", p.currency},
      {"attributes", p.attributes},
      {"url", p.url.empty() ? json(nullptr) : json(p.url)},
      {"image_url", p.images.empty() ? json(nullptr) : json(product_image_url(p.id, p.images.front().n))},
      {"images", images},
      {"updated_at", p.updated_at}};
}

json search_result_to_json(const SearchResult& result, Size image, Ranking ranking) {
  json objects = json::array();
  for (std::size_t i = 0; i < result.objects.size(); ++i) {
    const ObjectMatches& o = result.objects[i];
    json products = json::array();
    for (const ProductMatch& m : o.products) {
      products.push_back(json{{"id", m.product.id},
                              {"title", m.product.title},
                              {"category", m.product.category},
                              {"brand", m.product.brand},
                              {"price", m.product.price ? json(*m.product.price) : json(nullptr)},
                              {"currency", m.product.currency},
                              {"url", m.product.url.empty() ? json(nullptr) : json(m.product.url)},
                              {"image_url", product_image_url(m.product.id, m.matched_image)},
                              {"score", round_to(m.score, 1e-4)},
                              {"components",
                               {{"visual", round_to(m.components.visual, 1e-4)},
                                {"label", round_to(m.components.label, 1e-4)},
                                {"text", round_to(m.components.text, 1e-4)},
                                {"category", round_to(m.components.category, 1e-4)},
                                {"query", round_to(m.components.query, 1e-4)},
                                {"colour", round_to(m.components.colour, 1e-4)}}}});
    }
    objects.push_back(json{{"id", i},
                           {"label", o.object.label},
                           {"score", round_to(static_cast<double>(o.object.score), 1e-4)},
                           {"box", box_json(o.object.box)},
                           {"whole_image", o.object.whole_image},
                           {"products", products}});
  }
  return json{{"image", {{"width", image.width}, {"height", image.height}}},
              {"ranking", std::string(ranking_name(ranking))},
              {"catalog",
               {{"generation", result.generation},
                {"stale", result.stale},
                {"adapted", result.adapted},
                {"index", std::string(index_kind_name(result.index_kind))},
                {"vectors", result.vectors}}},
              {"facets", {{"category", result.facets.category}, {"brand", result.facets.brand}}},
              {"objects", objects}};
}

json import_report_to_json(const ImportReport& report) {
  json errors = json::array();
  for (const RowError& e : report.errors)
    errors.push_back(json{{"line", e.line}, {"id", e.id}, {"message", e.message}});
  return json{{"committed", report.committed},
              {"inserted", report.inserted},
              {"updated", report.updated},
              {"failed", report.errors.size()},
              {"images_indexed", report.images_indexed},
              {"images_reused", report.images_reused},
              {"generation", report.generation},
              {"errors", errors}};
}

json stats_to_json(const CatalogStats& s) {
  return json{
      {"products", s.products},     {"images", s.images},         {"vectors", s.vectors},
      {"generation", s.generation}, {"categories", s.categories}, {"embedder", s.embedder},
      {"dimension", s.dimension},   {"detector", s.detector},     {"database_bytes", s.database_bytes}};
}

Result<ImageBox> parse_box(std::string_view text) {
  std::vector<double> values;
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_discarded() && doc.is_array()) {
    for (const auto& v : doc) {
      if (!v.is_number()) return bad("box must hold 4 numbers");
      values.push_back(v.get<double>());
    }
  } else if (!doc.is_discarded() && doc.is_object()) {
    for (const char* key : {"x1", "y1", "x2", "y2"}) {
      if (!doc.contains(key) || !doc[key].is_number()) return bad("box object needs numbers x1, y1, x2, y2");
      values.push_back(doc[key].get<double>());
    }
  } else {
    std::string item;
    const std::string copy(text);
    std::size_t start = 0;
    while (start <= copy.size()) {
      const std::size_t comma = copy.find(',', start);
      item = copy.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())) != 0)
        item.erase(item.begin());
      while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())) != 0) item.pop_back();
      auto v = parse_number("box", item);
      if (!v) return bad("box must be x1,y1,x2,y2 in image pixels");
      values.push_back(*v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (values.size() != 4) return bad("box must be x1,y1,x2,y2 in image pixels");
  for (double v : values) {
    if (!std::isfinite(v)) return bad("box values must be finite");
  }
  ImageBox box{static_cast<float>(values[0]), static_cast<float>(values[1]), static_cast<float>(values[2]),
               static_cast<float>(values[3])};
  if (!box.valid()) return bad("box needs x2 > x1 and y2 > y1");
  return box;
}

Result<SearchParameters> parse_search_parameters(const std::map<std::string, std::string>& params) {
  SearchParameters out;
  for (const auto& [name, raw] : params) {
    std::string value = raw;
    // JSON bodies hand strings over as-is and other values dumped; accept a quoted string too.
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      const json s = json::parse(value, nullptr, false);
      if (!s.is_discarded() && s.is_string()) value = s.get<std::string>();
    }
    if (name == "box") {
      if (value.empty()) continue;
      auto box = parse_box(value);
      if (!box) return box.error();
      out.box = *box;
    } else if (name == "category") {
      out.options.filters.category = value;
    } else if (name == "min_price" || name == "max_price") {
      if (value.empty()) continue;
      auto v = parse_number(name, value);
      if (!v) return v.error();
      if (*v < 0) return bad(name + " must be >= 0");
      (name == "min_price" ? out.options.filters.min_price : out.options.filters.max_price) = *v;
    } else if (name == "limit") {
      auto v = parse_number(name, value);
      if (!v) return v.error();
      if (*v < 1 || *v > 100 || std::floor(*v) != *v) return bad("limit must be an integer in 1..100");
      out.options.limit = static_cast<int>(*v);
    } else if (name == "q") {
      if (value.size() > 200) return bad("q must be at most 200 characters");
      out.options.query_text = value;
    } else if (name == "min_score") {
      if (value.empty()) continue;
      auto v = parse_number(name, value);
      if (!v) return v.error();
      if (*v < 0 || *v > 1) return bad("min_score must be in [0, 1]");
      out.options.min_score = *v;
    } else if (name == "ranking") {
      auto ranking = parse_ranking(value);
      if (!ranking) return ranking.error();
      out.options.ranking = *ranking;
    } else if (name == "attributes") {
      if (value.empty()) continue;
      const json doc = json::parse(value, nullptr, false);
      if (doc.is_discarded() || !doc.is_object())
        return bad("attributes must be a JSON object of name: value");
      for (const auto& [key, v] : doc.items()) {
        if (!v.is_string() && !v.is_number() && !v.is_boolean())
          return bad("attributes." + key + " must be a string");
        out.options.filters.attributes[key] = v.is_string() ? v.get<std::string>() : to_json_text(v);
      }
    } else if (name.rfind("attr.", 0) == 0 && name.size() > 5) {
      out.options.filters.attributes[name.substr(5)] = value;
    }
  }
  for (const auto& [key, value] : out.options.filters.attributes) {
    if (key.empty() || key.find('"') != std::string::npos)
      return bad("attribute names must not be empty or hold quotes");
  }
  if (out.options.filters.min_price && out.options.filters.max_price &&
      *out.options.filters.min_price > *out.options.filters.max_price) {
    return bad("min_price is above max_price");
  }
  return out;
}

}  // namespace visearch::search
