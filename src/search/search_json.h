// JSON shapes of the search API, shared by the HTTP module and the CLI so both print the same objects
// (docs/search.md documents them), and the parsing of search parameters from name=value pairs
// (query string, form fields, JSON members).
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/geometry.h"
#include "core/result.h"
#include "search/catalog_import.h"
#include "search/catalog_store.h"
#include "search/search_service.h"

namespace visearch::search {

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode_component(std::string_view text);
// "/v1/products/<id>/images/<n>"
std::string product_image_url(const std::string& id, int n);

// {id, title, description, category, brand, price, currency, attributes, images: [{url, width, height}],
//  image_url, updated_at}
nlohmann::json product_to_json(const Product& product);
// {image, catalog{generation, index, vectors}, ranking, objects: [{id, label, score, box, whole_image,
//  products: [{id, title, category, brand, price, currency, image_url, score, components}]}]}
nlohmann::json search_result_to_json(const SearchResult& result, Size image, Ranking ranking);
nlohmann::json import_report_to_json(const ImportReport& report);
nlohmann::json stats_to_json(const CatalogStats& stats);

struct SearchParameters {
  SearchOptions options;
  std::optional<ImageBox> box;
};

// Recognised names: box ("x1,y1,x2,y2" or a JSON array / {x1,y1,x2,y2} object), category, min_price,
// max_price, limit, ranking, attributes (JSON object), attr.NAME (one attribute filter).
// Other names are ignored (detection parameters are parsed elsewhere). kInvalidArgument names the field.
Result<SearchParameters> parse_search_parameters(const std::map<std::string, std::string>& params);

// "x1,y1,x2,y2" (or a JSON array / object) -> box; kInvalidArgument unless x2 > x1 and y2 > y1.
Result<ImageBox> parse_box(std::string_view text);

}  // namespace visearch::search
