#include "cli/search_eval_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/catalog_command.h"
#include "core/json_text.h"
#include "io/image_decode.h"
#include "search/feedback_log.h"
#include "search/label_mapping.h"
#include "search/object_analysis.h"
#include "search/search_eval.h"
#include "search/search_service.h"

namespace visearch::cli {
namespace {

using nlohmann::json;

struct SearchEvalArgs {
  // Marked regions are labelled from detections down to this score (0: the detector's own threshold).
  float region_label_threshold = search::kRegionLabelThreshold;
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
  std::string feedback;  // log file or folder (search/feedback_log.h) instead of --queries
  bool tune = false;
  bool tune_min_score = false;
  std::string tune_out;
  std::string objective = "ndcg@5";
};

// One query ready to be ranked: its judgment and its query object (from the photo, or as logged).
struct PreparedQuery {
  search::Judgment judgment;
  search::QueryObject object;
  search::SearchOptions options;                  // filters and words (the logged ones for feedback)
  std::optional<bool> object_found;               // judgments with a box
  std::optional<std::vector<std::string>> shown;  // feedback: what the shopper saw
};

json metrics_json(const std::map<int, double>& values) {
  json out = json::object();
  for (const auto& [k, v] : values) out[std::to_string(k)] = v;
  return out;
}

void print_metrics_row(const char* name, const search::EvalSummary& s, const std::vector<int>& ks) {
  std::printf("%-10s", name);
  for (int k : ks) std::printf("  %-7.3f %-7.3f %-8.3f", s.precision.at(k), s.recall.at(k), s.ndcg.at(k));
  std::printf("  %.3f\n", s.mrr);
}

json summary_json(const search::EvalSummary& s) {
  return {{"scored", s.queries},
          {"precision", metrics_json(s.precision)},
          {"recall", metrics_json(s.recall)},
          {"ndcg", metrics_json(s.ndcg)},
          {"mrr", s.mrr}};
}

json weights_json(const search::FusionWeights& w) {
  json out = json::object();
  for (const search::FusionWeightField& f : search::kFusionWeightFields) out[f.name] = w.*f.field;
  return out;
}

std::string weights_text(const search::FusionWeights& w) {
  std::string out;
  for (const search::FusionWeightField& f : search::kFusionWeightFields) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s=%.2f", out.empty() ? "" : " ", f.name, w.*f.field);
    out += buf;
  }
  return out;
}

// The judgments file's queries: each photo analysed (the region's object with a box, else the first).
Status prepare_from_judgments(const SearchEvalArgs& args, const SearchModels& models,
                              std::vector<PreparedQuery>& out, std::size_t& count) {
  auto text = read_file_bytes(args.queries, std::uint64_t{512} << 20U);
  if (!text) return Error{text.error().code, args.queries + ": " + text.error().message};
  const std::string base_dir = std::filesystem::path(args.queries).parent_path().string();
  auto judgments = search::parse_judgments(
      std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), base_dir);  // NOLINT
  if (!judgments) return Error{judgments.error().code, args.queries + ": " + judgments.error().message};
  count = judgments->size();
  std::string current_path;
  Image image;
  std::optional<search::QueryAnalysis> whole_photo;  // of current_path, for the object recall
  for (search::Judgment& q : *judgments) {
    if (q.image != current_path) {
      auto bytes = read_file_bytes(q.image, std::uint64_t{256} << 20U);
      if (!bytes) return Error{bytes.error().code, q.id + ": " + bytes.error().message};
      auto decoded = decode_image(*bytes, DecodeLimits{});
      if (!decoded)
        return Error{decoded.error().code, q.id + " (" + q.image + "): " + decoded.error().message};
      image = std::move(decoded->image);
      current_path = q.image;
      whole_photo.reset();
    }
    search::QueryAnalysisOptions analysis_options;
    analysis_options.region = q.box;
    if (args.region_label_threshold <= 0.F)
      analysis_options.region_label_threshold.reset();
    else
      analysis_options.region_label_threshold = args.region_label_threshold;
    auto analysis = search::analyze_query_image(image, *models.detector, *models.embedder, analysis_options);
    if (!analysis) return Error{analysis.error().code, q.id + ": " + analysis.error().message};
    if (analysis->objects.empty()) return Error{ErrorCode::kInternal, q.id + ": no query object"};
    PreparedQuery prepared;
    if (q.box) {
      if (!whole_photo) {
        auto whole = search::analyze_query_image(image, *models.detector, *models.embedder, {});
        if (!whole) return Error{whole.error().code, q.id + ": " + whole.error().message};
        whole_photo = std::move(*whole);
      }
      prepared.object_found = false;
      for (const search::QueryObject& o : whole_photo->objects) {
        if (!o.whole_image && iou(o.box, *q.box) >= 0.5F) prepared.object_found = true;
      }
    }
    prepared.object = std::move(analysis->objects.front());
    prepared.judgment = std::move(q);
    out.push_back(std::move(prepared));
  }
  return ok_status();
}

int run_search_eval(const SearchEvalArgs& args) {
  auto ks = search::parse_cutoffs(args.cutoffs);
  if (!ks) return report_error(ks.error());
  if (args.queries.empty() == args.feedback.empty()) {
    return report_error(Error{ErrorCode::kInvalidArgument,
                              "give --queries FILE (judgments) or --feedback FILE_OR_DIR, one of them"});
  }
  std::optional<search::TuneObjective> objective;
  if (args.tune) {
    auto parsed = search::parse_objective(args.objective);
    if (!parsed) return report_error(parsed.error());
    objective = *parsed;
    if (objective->k > 0 && std::find(ks->begin(), ks->end(), objective->k) == ks->end()) {
      ks->push_back(objective->k);
      std::sort(ks->begin(), ks->end());
    }
  }
  if ((!args.tune_out.empty() || args.tune_min_score) && !args.tune)
    return report_error(Error{ErrorCode::kInvalidArgument, "--tune-out and --tune-min-score need --tune"});
  std::vector<search::Ranking> rankings;
  if (args.ranking == "all") {
    rankings = {search::Ranking::kFused, search::Ranking::kVisual, search::Ranking::kLabel};
  } else {
    auto r = search::parse_ranking(args.ranking);
    if (!r) return report_error(r.error());
    rankings = {*r};
  }

  std::vector<PreparedQuery> prepared;
  std::size_t query_count = 0;
  std::optional<SearchModels> models;
  json feedback_report;
  if (!args.feedback.empty()) {
    auto files = search::feedback_log_files(args.feedback);
    if (!files) return report_error(files.error());
    search::FeedbackReader reader;
    for (const std::string& file : *files) {
      auto bytes = read_file_bytes(file, std::uint64_t{1} << 30U);
      if (!bytes) return report_error(file, bytes.error());
      reader.add(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));  // NOLINT
    }
    for (search::FeedbackQuery& q : reader.queries()) {
      PreparedQuery p;
      p.judgment = std::move(q.judgment);
      p.object = std::move(q.object);
      p.options = std::move(q.options);
      p.shown = std::move(q.shown);
      prepared.push_back(std::move(p));
    }
    const search::FeedbackStats& st = reader.stats();
    query_count = prepared.size();
    feedback_report = {{"files", *files},
                       {"lines", st.lines},
                       {"bad_lines", st.bad_lines},
                       {"searches", st.searches},
                       {"duplicate_searches", st.duplicate_searches},
                       {"shown_objects", st.shown_objects},
                       {"judged", st.judged},
                       {"skipped_without_open", st.without_open},
                       {"skipped_without_search", st.without_search}};
    if (prepared.empty()) {
      std::fprintf(stderr, "%s\n", to_json_text(feedback_report).c_str());
      return report_error(Error{ErrorCode::kInvalidArgument,
                                "the feedback log has no search with an opened product to judge by"});
    }
  } else {
    auto loaded = load_search_models(args.model_options, args.detector, args.embedder);
    if (!loaded) return report_error(loaded.error());
    models = std::move(*loaded);
    auto ready = prepare_from_judgments(args, *models, prepared, query_count);
    if (!ready) return report_error(ready.error());
  }
  auto service = open_cli_catalog(args.catalog, false, args.mapping, args.index);
  if (!service) return report_error(service.error());

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
  std::vector<search::QueryMetrics> as_shown;
  for (const PreparedQuery& q : prepared) {
    for (search::Ranking ranking : rankings) {
      search::SearchOptions options = q.options;
      options.limit = limit;
      options.ranking = ranking;
      if (args.sweep) {
        options.min_score = 0.0;  // everything, thresholds applied afterwards
      } else if (args.min_score) {
        options.min_score = args.min_score;
      }
      auto result = (*service)->search({q.object}, options);
      if (!result) return report_error(q.judgment.id, result.error());
      std::vector<search::RankedProduct> ranked;
      for (const search::ProductMatch& m : result->objects.at(0).products)
        ranked.push_back({m.product.id, m.product.category, m.score});
      search::QueryMetrics metrics = search::score_query(q.judgment, ranked, universe, *ks);
      metrics.object_found = q.object_found;
      per_ranking[ranking].push_back(std::move(metrics));
    }
    if (q.shown) {
      std::vector<search::RankedProduct> ranked;
      for (const std::string& id : *q.shown) {
        auto it = universe.category_of.find(id);
        ranked.push_back({id, it == universe.category_of.end() ? std::string() : it->second, 0.0});
      }
      as_shown.push_back(search::score_query(q.judgment, ranked, universe, *ks));
    }
  }

  // --tune: each query's candidates gathered once, then re-fused per weight set.
  std::optional<search::TuneResult> tuned;
  if (args.tune) {
    std::vector<search::TuneQuery> tune_queries;
    for (const PreparedQuery& q : prepared) {
      search::TuneQuery t;
      t.judgment = q.judgment;
      search::SearchOptions options = q.options;
      options.limit = limit;
      options.ranking = search::Ranking::kFused;
      // As the rankings above: --sweep ranks without a minimum score, so "before" is their fused figure.
      if (args.sweep && !args.tune_min_score) {
        options.min_score = 0.0;
      } else if (args.min_score) {
        options.min_score = args.min_score;
      }
      options.candidate_sink = [&t](const search::QueryObject&,
                                    const std::vector<search::FusionCandidate>& pool,
                                    const search::FusionParams& params) {
        t.candidates = pool;
        t.params = params;
      };
      auto result = (*service)->search({q.object}, options);
      if (!result) return report_error(q.judgment.id, result.error());
      tune_queries.push_back(std::move(t));
    }
    std::optional<double> current_min_score;
    if (args.tune_min_score)
      current_min_score = args.min_score.value_or((*service)->mapping().min_score("fused"));
    tuned = search::tune_fusion_weights(tune_queries, universe, *ks, *objective,
                                        (*service)->mapping().weights(), current_min_score);
  }

  const bool as_json = args.format.empty() ? !stdout_is_terminal() : args.format == "json";
  json out = {{"queries", query_count}, {"k", *ks}, {"rankings", json::object()}};
  if (models) {
    out["queries_file"] = args.queries;
    out["model"] = models->detector->spec().name;
    out["embedder"] = models->embedder->spec().name;
  } else {
    out["feedback"] = feedback_report;
  }
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
    json r = summary_json(s);
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
        if (!models) {
          const json& f = feedback_report;
          std::printf(
              "feedback: %zu lines (%zu skipped as damaged), %zu searches, %zu objects shown: %zu with an "
              "opened "
              "product judged, %zu without one skipped; %zu events without their search skipped\n",
              f["lines"].get<std::size_t>(), f["bad_lines"].get<std::size_t>(),
              f["searches"].get<std::size_t>(), f["shown_objects"].get<std::size_t>(),
              f["judged"].get<std::size_t>(), f["skipped_without_open"].get<std::size_t>(),
              f["skipped_without_search"].get<std::size_t>());
        }
        std::printf("%zu queries (%d scored, %d with nothing relevant in the catalog)\n", query_count,
                    s.queries, s.without_relevant);
        std::printf("%-10s", "ranking");
        for (int k : *ks) std::printf("  P@%-5d R@%-5d nDCG@%-3d", k, k, k);
        std::printf("  MRR\n");
        if (!models) print_metrics_row("as shown", search::summarize(as_shown, *ks), *ks);
      }
      print_metrics_row(name.c_str(), s, *ks);
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
  if (!models) out["rankings"]["as_shown"] = summary_json(search::summarize(as_shown, *ks));
  if (tuned) {
    json t = {{"objective", search::objective_name(*objective)},
              {"evaluated", tuned->evaluated},
              {"before",
               {{"weights", weights_json(tuned->before)},
                {"objective", tuned->before_value},
                {"metrics", summary_json(tuned->before_summary)}}},
              {"after",
               {{"weights", weights_json(tuned->best)},
                {"objective", tuned->best_value},
                {"metrics", summary_json(tuned->best_summary)}}}};
    if (tuned->best_min_score) {
      t["before"]["min_score"] = *tuned->before_min_score;
      t["after"]["min_score"] = *tuned->best_min_score;
    }
    if (!args.tune_out.empty()) {
      const std::string mapping_path =
          args.mapping.empty() ? search::default_label_mapping_path() : args.mapping;
      auto mapping_text = read_file_bytes(mapping_path, std::uint64_t{64} << 20U);
      if (!mapping_text) return report_error(mapping_path, mapping_text.error());
      auto written =
          search::mapping_with_weights(std::string_view(reinterpret_cast<const char*>(mapping_text->data()),
                                                        mapping_text->size()),  // NOLINT
                                       tuned->best, tuned->best_min_score);
      if (!written) return report_error(mapping_path, written.error());
      std::ofstream file(args.tune_out, std::ios::binary | std::ios::trunc);
      file << *written;
      file.flush();
      if (!file) return report_error(Error{ErrorCode::kIo, "cannot write " + args.tune_out});
      t["mapping"] = args.tune_out;
    }
    out["tune"] = std::move(t);
    if (!as_json) {
      std::printf("tune (fused, %zu sets, objective %s):\n", tuned->evaluated,
                  search::objective_name(*objective).c_str());
      std::printf("%-10s", "");
      for (int k : *ks) std::printf("  P@%-5d R@%-5d nDCG@%-3d", k, k, k);
      std::printf("  MRR     %-9s weights\n", search::objective_name(*objective).c_str());
      const auto row = [&](const char* name, const search::EvalSummary& s, double value,
                           const search::FusionWeights& w, std::optional<double> m) {
        std::printf("%-10s", name);
        for (int k : *ks)
          std::printf("  %-7.3f %-7.3f %-8.3f", s.precision.at(k), s.recall.at(k), s.ndcg.at(k));
        std::printf("  %-6.3f  %-9.3f %s", s.mrr, value, weights_text(w).c_str());
        if (m) std::printf(" min_score=%.2f", *m);
        std::printf("\n");
      };
      row("before", tuned->before_summary, tuned->before_value, tuned->before, tuned->before_min_score);
      row("after", tuned->best_summary, tuned->best_value, tuned->best, tuned->best_min_score);
      if (!args.tune_out.empty()) std::printf("tuned mapping written to %s\n", args.tune_out.c_str());
    }
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
  cmd->add_option("--queries", args->queries, "Judgments file (JSON lines; see docs/search.md)");
  cmd->add_option("--feedback", args->feedback,
                  "Instead of --queries: the shopper feedback log (a file or the feedback/ folder of "
                  "`visearch serve`); opened products are relevant, each logged query object is re-ranked "
                  "(docs/feedback.md)");
  cmd->add_flag(
      "--tune", args->tune,
      "Grid search over the mapping's fusion weights (fused ranking) for the best --objective; prints "
      "the before/after table");
  cmd->add_option("--tune-out", args->tune_out,
                  "With --tune: write the mapping file with the best weights here (all else copied)");
  cmd->add_flag("--tune-min-score", args->tune_min_score,
                "With --tune: also the fused min_score (0 to 0.9; use --objective shown@K, since a threshold "
                "can only lower the others)");
  cmd->add_option("--objective", args->objective, "With --tune: ndcg@K, p@K, r@K, shown@K or mrr")
      ->capture_default_str();
  add_catalog_flags(*cmd, args->catalog);
  cmd->add_option("--k", args->cutoffs, "Cut-offs, comma-separated")->capture_default_str();
  cmd->add_option("--ranking", args->ranking, "fused, visual, label or all")
      ->check(CLI::IsMember({"fused", "visual", "label", "all"}))
      ->capture_default_str();
  cmd->add_option("--json-out", args->json_out, "Also write the JSON report (with every query) to this file");
  cmd->add_option("--region-label-threshold", args->region_label_threshold,
                  "A query box is labelled from detections down to this score (0: the detector's own)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
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
