#include "cli/search_command.h"
#include "core/json_text.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/catalog_command.h"
#include "io/image_decode.h"
#include "search/catalog_store.h"
#include "search/object_analysis.h"
#include "search/photo_search.h"
#include "search/search_json.h"
#include "search/search_service.h"

namespace visearch::cli {
namespace {

using nlohmann::json;

struct SearchArgs {
  ModelOptions model_options;
  std::vector<std::string> images;
  CatalogFlags catalog;
  std::string detector = "picodet_s_416";
  std::string embedder = "mobilenetv2_embed";
  std::string mapping;
  std::string index = "auto";
  std::string box;
  std::string category;
  std::optional<double> min_price;
  std::optional<double> max_price;
  std::vector<std::string> attributes;  // k=v
  int limit = 5;
  std::optional<double> min_score;
  std::string query_text;
  std::string ranking = "fused";
  std::optional<float> score_threshold;
  int max_objects = 10;
  std::string format;
};

void print_table(const search::SearchResult& result, const std::string& source) {
  std::printf("%s  %zu object%s\n", source.c_str(), result.objects.size(),
              result.objects.size() == 1 ? "" : "s");
  for (const search::ObjectMatches& o : result.objects) {
    std::printf("  %s %.2f [%.0f, %.0f, %.0f, %.0f]%s\n",
                o.object.label.empty() ? "(object)" : o.object.label.c_str(),
                static_cast<double>(o.object.score), static_cast<double>(o.object.box.x1),
                static_cast<double>(o.object.box.y1), static_cast<double>(o.object.box.x2),
                static_cast<double>(o.object.box.y2), o.object.whole_image ? " whole image" : "");
    for (const search::ProductMatch& m : o.products) {
      std::printf("    %.3f (visual %.2f, label %.2f)  %-22s %-40s %s %s\n", m.score, m.components.visual,
                  m.components.label, m.product.id.c_str(), m.product.title.c_str(),
                  m.product.price ? std::to_string(*m.product.price)
                                        .substr(0, std::to_string(*m.product.price).find('.') + 3)
                                        .c_str()
                                  : "-",
                  m.product.currency.c_str());
    }
  }
}

int run_search(const SearchArgs& args) {
  std::map<std::string, std::string> params{{"limit", std::to_string(args.limit)}, {"ranking", args.ranking}};
  if (!args.box.empty()) params["box"] = args.box;
  if (args.min_score) params["min_score"] = std::to_string(*args.min_score);
  if (!args.query_text.empty()) params["q"] = args.query_text;
  if (!args.category.empty()) params["category"] = args.category;
  if (args.min_price) params["min_price"] = std::to_string(*args.min_price);
  if (args.max_price) params["max_price"] = std::to_string(*args.max_price);
  for (const std::string& attribute : args.attributes) {
    const std::size_t eq = attribute.find('=');
    if (eq == std::string::npos || eq == 0) {
      return report_error(
          Error{ErrorCode::kInvalidArgument, "--attr needs NAME=VALUE (got '" + attribute + "')"});
    }
    params["attr." + attribute.substr(0, eq)] = attribute.substr(eq + 1);
  }
  auto parameters = search::parse_search_parameters(params);
  if (!parameters) return report_error(parameters.error());
  auto service = open_cli_catalog(args.catalog, false, args.mapping, args.index);
  if (!service) return report_error(service.error());
  auto models = load_search_models(args.model_options, args.detector, args.embedder);
  if (!models) return report_error(models.error());

  search::QueryAnalysisOptions analysis_options;
  analysis_options.detect.score_threshold = args.score_threshold;
  analysis_options.region = parameters->box;
  analysis_options.max_objects = args.max_objects;
  const bool as_json = args.format.empty() ? !stdout_is_terminal() : args.format == "json";
  int exit_code = 0;
  for (const std::string& path : args.images) {
    auto bytes = read_file_bytes(path, std::uint64_t{256} << 20U);
    if (!bytes) {
      exit_code = std::max(exit_code, report_error(path, bytes.error()));
      continue;
    }
    const auto started = std::chrono::steady_clock::now();
    auto photo =
        search::analyse_photo(*bytes, DecodeLimits{}, *models->detector, *models->embedder, analysis_options);
    if (!photo) {
      exit_code = std::max(exit_code, report_error(path, photo.error()));
      continue;
    }
    auto answer = search::answer_photo_search(
        **service, *photo, parameters->options,
        {path, models->detector->spec().name, models->embedder->spec().name, started});
    if (!answer) {
      exit_code = std::max(exit_code, report_error(path, answer.error()));
      continue;
    }
    const search::SearchResult* result = &answer->result;
    if (as_json) {
      std::cout << to_json_text(answer->body) << '\n' << std::flush;
    } else {
      print_table(*result, path);
    }
  }
  return exit_code;
}

}  // namespace

void add_search_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SearchArgs>();
  CLI::App* cmd =
      app.add_subcommand("search", "Find catalog products for the objects in photos (visual search)");
  cmd->add_option("images", args->images, "Photos to search with")->required();
  add_catalog_flags(*cmd, args->catalog);
  cmd->add_option("--box", args->box, "Search this region only: x1,y1,x2,y2 in image pixels");
  cmd->add_option("--category", args->category, "Only products of this category");
  cmd->add_option("--min-price", args->min_price, "Only products at or above this price");
  cmd->add_option("--max-price", args->max_price, "Only products at or below this price");
  cmd->add_option("--attr", args->attributes, "Only products with attribute NAME=VALUE (repeatable)")
      ->allow_extra_args(false);  // one NAME=VALUE per --attr: the photos after it stay photos
  cmd->add_option("--limit", args->limit, "Products per object")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("-q,--query", args->query_text, "Words with the photo, e.g. \"in red\" (fused ranking)");
  cmd->add_option(
         "--min-score", args->min_score,
         "Leave out products scoring below this (default: the mapping file's min_score for the ranking)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--ranking", args->ranking, "fused, visual or label")
      ->check(CLI::IsMember({"fused", "visual", "label"}))
      ->capture_default_str();
  cmd->add_option("--score-threshold", args->score_threshold, "Detector threshold (default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-objects", args->max_objects, "Search at most N objects per photo")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("-m,--model", args->detector, "Detector")->capture_default_str();
  cmd->add_option("--embed-model", args->embedder, "Embedding model (the catalog's)")->capture_default_str();
  cmd->add_option("--mapping", args->mapping, "Label mapping file (default: data/search/label_mapping.json)");
  cmd->add_option("--index", args->index, "Vector index: auto, exact or hnsw")
      ->check(CLI::IsMember({"auto", "exact", "hnsw"}))
      ->capture_default_str();
  cmd->add_option("--format", args->format, "json (one object per photo) or table")
      ->check(CLI::IsMember({"json", "table"}));
  add_model_options(*cmd, args->model_options);
  cmd->callback([args, exit_code] { *exit_code = run_search(*args); });
}

}  // namespace visearch::cli
