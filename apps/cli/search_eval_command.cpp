#include "cli/search_eval_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/catalog_command.h"
#include "core/json_text.h"
#include "io/image_decode.h"
#include "search/label_mapping.h"
#include "search/object_analysis.h"
#include "search/search_eval.h"
#include "search/search_service.h"

namespace visearch::cli {
namespace {

using nlohmann::json;

struct SearchEvalArgs {
  ModelOptions model_options;
  std::string queries;
  CatalogFlags catalog;
  std::string detector = "picodet_s_416";
  std::string embedder = "mobilenetv2_embed";
  std::string mapping;
  std::string index = "exact";
  std::string cutoffs = "5,10";
  std::string ranking = "all";
  std::string format;
  std::string json_out;
  std::optional<double> min_score;
  bool per_query = false;
  bool sweep = false;
};

json metrics_json(const std::map<int, double>& values) {
  json out = json::object();
  for (const auto& [k, v] : values) out[std::to_string(k)] = v;
  return out;
}

int run_search_eval(const SearchEvalArgs& args) {
  auto ks = search::parse_cutoffs(args.cutoffs);
  if (!ks) return report_error(ks.error());
  std::vector<search::Ranking> rankings;
  if (args.ranking == "all") {
    rankings = {search::Ranking::kFused, search::Ranking::kVisual, search::Ranking::kLabel};
  } else {
    auto r = search::parse_ranking(args.ranking);
    if (!r) return report_error(r.error());
    rankings = {*r};
  }
  auto text = read_file_bytes(args.queries, std::uint64_t{512} << 20U);
  if (!text) return report_error(args.queries, text.error());
  const std::string base_dir = std::filesystem::path(args.queries).parent_path().string();
  auto judgments = search::parse_judgments(
      std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), base_dir);  // NOLINT
  if (!judgments) return report_error(args.queries, judgments.error());
  auto service = open_cli_catalog(args.catalog, false, args.mapping, args.index);
  if (!service) return report_error(service.error());
  auto models = load_search_models(args.model_options, args.detector, args.embedder);
  if (!models) return report_error(models.error());

  // What the catalog holds: every product's category.
  search::RelevanceUniverse universe;
  {
    auto pairs = (*service)->product_categories();
    if (!pairs) return report_error(pairs.error());
    for (auto& [id, category] : *pairs) {
      universe.products_in[search::to_lower_ascii(category)].push_back(id);
      universe.category_of[id] = std::move(category);
    }
  }

  const int limit = ks->back();
  std::map<search::Ranking, std::vector<search::QueryMetrics>> per_ranking;
  std::string current_path;
  Image image;
  std::optional<search::QueryAnalysis> whole_photo;  // of current_path, for the object recall
  for (const search::Judgment& q : *judgments) {
    if (q.image != current_path) {
      auto bytes = read_file_bytes(q.image, std::uint64_t{256} << 20U);
      if (!bytes) return report_error(q.id, bytes.error());
      auto decoded = decode_image(*bytes, DecodeLimits{});
      if (!decoded) return report_error(q.id + " (" + q.image + ")", decoded.error());
      image = std::move(decoded->image);
      current_path = q.image;
      whole_photo.reset();
    }
    search::QueryAnalysisOptions analysis_options;
    analysis_options.region = q.box;
    auto analysis =
        search::analyze_query_image(image, *models->detector, *models->embedder, analysis_options);
    if (!analysis) return report_error(q.id, analysis.error());
    if (analysis->objects.empty()) return report_error(q.id, Error{ErrorCode::kInternal, "no query object"});
    std::optional<bool> found;
    if (q.box) {
      if (!whole_photo) {
        auto whole = search::analyze_query_image(image, *models->detector, *models->embedder, {});
        if (!whole) return report_error(q.id, whole.error());
        whole_photo = std::move(*whole);
      }
      found = false;
      for (const search::QueryObject& o : whole_photo->objects) {
        if (!o.whole_image && iou(o.box, *q.box) >= 0.5F) found = true;
      }
    }
    for (search::Ranking ranking : rankings) {
      search::SearchOptions options;
      options.limit = limit;
      options.ranking = ranking;
      if (args.sweep) {
        options.min_score = 0.0;  // everything, thresholds applied afterwards
      } else {
        options.min_score = args.min_score;
      }
      auto result = (*service)->search({analysis->objects.front()}, options);
      if (!result) return report_error(q.id, result.error());
      std::vector<search::RankedProduct> ranked;
      for (const search::ProductMatch& m : result->objects.at(0).products)
        ranked.push_back({m.product.id, m.product.category, m.score});
      search::QueryMetrics metrics = search::score_query(q, ranked, universe, *ks);
      metrics.object_found = found;
      per_ranking[ranking].push_back(std::move(metrics));
    }
  }

  const bool as_json = args.format.empty() ? !stdout_is_terminal() : args.format == "json";
  json out = {{"queries_file", args.queries},
              {"queries", judgments->size()},
              {"k", *ks},
              {"model", models->detector->spec().name},
              {"embedder", models->embedder->spec().name},
              {"rankings", json::object()}};
  bool first = true;
  for (search::Ranking ranking : rankings) {
    const auto& queries = per_ranking[ranking];
    const search::EvalSummary s = search::summarize(queries, *ks);
    const std::string name(search::ranking_name(ranking));
    if (first) {
      out["object_recall"] = {
          {"judged", s.objects_judged},
          {"found", s.objects_found},
          {"recall", s.objects_judged > 0 ? static_cast<double>(s.objects_found) / s.objects_judged : 0.0}};
      out["without_relevant"] = s.without_relevant;
    }
    json r = {{"scored", s.queries},
              {"precision", metrics_json(s.precision)},
              {"recall", metrics_json(s.recall)},
              {"ndcg", metrics_json(s.ndcg)},
              {"mrr", s.mrr}};
    json list = json::array();
    for (const search::QueryMetrics& m : queries) {
      json one = {{"id", m.id},
                  {"relevant_in_catalog", m.relevant_in_catalog},
                  {"precision", metrics_json(m.precision)},
                  {"recall", metrics_json(m.recall)},
                  {"ndcg", metrics_json(m.ndcg)},
                  {"reciprocal_rank", m.reciprocal_rank}};
      if (m.object_found) one["object_found"] = *m.object_found;
      list.push_back(std::move(one));
    }
    r["per_query"] = std::move(list);
    if (args.sweep) {
      std::vector<double> thresholds;
      for (int i = 0; i <= 18; ++i) thresholds.push_back(i * 0.05);
      json points = json::array();
      const auto sweep = search::sweep_min_score(queries, ks->front(), thresholds);
      for (const search::ThresholdPoint& p : sweep) {
        points.push_back({{"min_score", p.min_score},
                          {"answered", p.answered},
                          {"precision_kept", p.precision_kept},
                          {"rejected", p.rejected}});
      }
      r["min_score_sweep"] = std::move(points);
      if (!as_json) {
        std::printf("  min_score sweep (%s, top %d): min_score answered precision_kept rejected_negatives\n",
                    name.c_str(), ks->front());
        for (const search::ThresholdPoint& p : sweep) {
          std::printf("    %.2f  %.3f  %.3f  %.3f\n", p.min_score, p.answered, p.precision_kept, p.rejected);
        }
      }
    }
    out["rankings"][name] = std::move(r);
    if (!as_json) {
      if (first) {
        std::printf("%zu queries (%d scored, %d with nothing relevant in the catalog)\n", judgments->size(),
                    s.queries, s.without_relevant);
        std::printf("%-8s", "ranking");
        for (int k : *ks) std::printf("  P@%-5d R@%-5d nDCG@%-3d", k, k, k);
        std::printf("  MRR\n");
      }
      std::printf("%-8s", name.c_str());
      for (int k : *ks)
        std::printf("  %-7.3f %-7.3f %-8.3f", s.precision.at(k), s.recall.at(k), s.ndcg.at(k));
      std::printf("  %.3f\n", s.mrr);
      if (args.per_query) {
        for (const search::QueryMetrics& m : queries) {
          std::printf("    %-28s", m.id.c_str());
          for (int k : *ks)
            std::printf("  %-7.3f %-7.3f %-8.3f", m.precision.at(k), m.recall.at(k), m.ndcg.at(k));
          std::printf("  %.3f\n", m.reciprocal_rank);
        }
      }
    }
    first = false;
  }
  if (!args.json_out.empty()) {
    std::ofstream file(args.json_out, std::ios::trunc);
    file << to_json_text(out) << '\n';
    file.flush();
    if (!file) return report_error(Error{ErrorCode::kIo, "cannot write " + args.json_out});
  }
  if (as_json) {
    std::cout << to_json_text(out) << '\n';
  } else if (out["object_recall"]["judged"].get<int>() > 0) {
    std::printf(
        "object recall: %d of %d query boxes found by the detector on the whole photo (IoU >= 0.5): %.3f\n",
        out["object_recall"]["found"].get<int>(), out["object_recall"]["judged"].get<int>(),
        out["object_recall"]["recall"].get<double>());
  }
  return 0;
}

}  // namespace

void add_search_eval_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SearchEvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "search-eval", "Measure search relevance on a judgments file (precision@k, recall@k, nDCG@k, MRR)");
  cmd->add_option("--queries", args->queries, "Judgments file (JSON lines; see docs/search.md)")->required();
  add_catalog_flags(*cmd, args->catalog);
  cmd->add_option("--k", args->cutoffs, "Cut-offs, comma-separated")->capture_default_str();
  cmd->add_option("--ranking", args->ranking, "fused, visual, label or all")
      ->check(CLI::IsMember({"fused", "visual", "label", "all"}))
      ->capture_default_str();
  cmd->add_option("--json-out", args->json_out, "Also write the JSON report (with every query) to this file");
  cmd->add_option("--min-score", args->min_score,
                  "Leave out products below this score (default: the mapping file's)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag(
      "--sweep", args->sweep,
      "Also report, per min_score from 0 to 0.9, the share of queries answered, the precision of what is "
      "kept and the share of queries with nothing relevant left without products");
  cmd->add_flag("--per-query", args->per_query, "Table: one line per query too (JSON always has them)");
  cmd->add_option("-m,--model", args->detector, "Detector")->capture_default_str();
  cmd->add_option("--embed-model", args->embedder, "Embedding model (the catalog's)")->capture_default_str();
  cmd->add_option("--mapping", args->mapping, "Label mapping file (default: data/search/label_mapping.json)");
  cmd->add_option("--index", args->index,
                  "Vector index: auto, exact or hnsw (exact: no approximation in the figures)")
      ->check(CLI::IsMember({"auto", "exact", "hnsw"}))
      ->capture_default_str();
  cmd->add_option("--format", args->format, "json or table")->check(CLI::IsMember({"json", "table"}));
  add_model_options(*cmd, args->model_options);
  cmd->callback([args, exit_code] { *exit_code = run_search_eval(*args); });
}

}  // namespace visearch::cli
