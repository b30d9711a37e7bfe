#include "cli/catalog_command.h"
#include "core/json_text.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "io/image_decode.h"
#include "search/adapt/catalog_adapt.h"
#include "search/catalog_import.h"
#include "search/catalog_store.h"
#include "search/demo_catalog.h"
#include "search/label_mapping.h"
#include "search/object_analysis.h"
#include "search/photo_search.h"
#include "search/search_json.h"
#include "search/text_util.h"

namespace visearch::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kDefaultDetector = "picodet_s_416";
constexpr const char* kDefaultEmbedder = "mobilenetv2_embed";

struct CatalogArgs {
  ModelOptions model_options;
  CatalogFlags catalog;
  std::string format;
  // import
  std::string file;
  std::string images_dir;
  bool strict = false;
  bool progress = false;
  std::string detector = kDefaultDetector;
  std::string embedder = kDefaultEmbedder;
  bool no_adapt = false;  // import, delete: leave a stale adaptation stale
  // delete
  std::vector<std::string> ids;
  // adapt
  search::AdaptOptions adapt;
  // list
  std::string text;
  std::string category;
  int limit = 20;
  int offset = 0;
  // gc
  int min_age_s = 600;
  // migrate
  std::string to_uri;
  CatalogFlags to;
  // demo
  std::string out_dir;
  std::string shared_dir;
  std::string mapping;
  std::vector<std::string> sources{"coco128", "coco-mini"};
  search::DemoOptions demo;
};

bool as_json(const std::string& format) {
  return format.empty() ? !stdout_is_terminal() : format == "json";
}

Result<std::string> read_text_file(const std::string& path) {
  auto bytes = read_file_bytes(path, std::uint64_t{1} << 30U);
  if (!bytes) return bytes.error();
  return std::string(bytes->begin(), bytes->end());
}

void print_adapt_report(const search::AdaptReport& r, const std::string& format) {
  if (as_json(format)) {
    std::cout << to_json_text(r.to_json()) << '\n';
    return;
  }
  const std::string_view method = search::adapt_method_name(r.method);
  std::printf(
      "adaptation of generation %lld (%.*s): %d products in %d categories, %d objects (%d of another "
      "category left out, %d trained with %d augmented views)\n",
      static_cast<long long>(r.generation), static_cast<int>(method.size()), method.data(), r.products,
      r.categories, r.objects, r.other_objects, r.trained_objects, r.views);
  if (r.heldout_objects > 0) {
    std::printf(
        "  held-out products %d (%d objects): precision@5 of the category, embedder %.3f -> adapted "
        "%.3f (mix %.2f, anchor %.2f)\n",
        r.heldout_products, r.heldout_objects, r.base_precision_at_5, r.adapted_precision_at_5, r.mix,
        r.anchor);
    for (const search::MixPrecision& m : r.mixes)
      std::printf("    weight decay %.4f mix %.2f anchor %.2f  %.3f\n", m.weight_decay, m.mix, m.anchor,
                  m.precision_at_5);
  } else {
    std::printf("  no category has 3+ products: nothing held out, mix %.2f, anchor %.2f\n", r.mix, r.anchor);
  }
  for (const search::AdaptedAttributeReport& a : r.attributes)
    std::printf(
        "  attribute %s: %d values, %d products, weight %.2f; held-out objects %d named right %.3f (the "
        "most common value alone %.3f)\n",
        a.key.c_str(), a.values, a.products, a.weight, a.heldout_objects, a.heldout_accuracy,
        a.majority_accuracy);
  for (const search::AdaptedAttributeReport& a : r.dropped_attributes)
    std::printf(
        "  attribute %s not learnt: held-out objects %d named right %.3f, the most common value alone %.3f\n",
        a.key.c_str(), a.heldout_objects, a.heldout_accuracy, a.majority_accuracy);
  std::printf("  %s in %.1f s (embedding %.1f s, training %.1f s)\n",
              r.stored ? "stored" : ("NOT stored: " + r.not_stored_reason + " (--force stores it)").c_str(),
              r.total_s, r.embed_s, r.train_s);
}

search::AdaptOptions adapt_options_with_progress(const CatalogArgs& args) {
  search::AdaptOptions options = args.adapt;
  if (args.progress || stderr_is_terminal()) {
    options.progress = [](std::string_view stage, std::size_t done, std::size_t total) {
      if (stage == "embedding" && done % 50 != 0 && done != total) return;
      std::fprintf(stderr, "adapt: %.*s %zu/%zu\n", static_cast<int>(stage.size()), stage.data(), done,
                   total);
      std::fflush(stderr);
    };
  }
  return options;
}

// After an import or delete: the catalog's adaptation (if it has one) belongs to the previous generation
// and search ignores it; rebuild it so the catalog keeps its adapted space. 0, or the error's exit code.
int refresh_adaptation(const CatalogArgs& args, search::Catalog& catalog, const Embedder* loaded) {
  if (args.no_adapt) return 0;
  auto stale = search::adaptation_is_stale(catalog);
  if (!stale) return report_error(stale.error());
  if (!*stale) return 0;
  std::unique_ptr<Embedder> own;
  if (loaded == nullptr) {
    auto models = load_embedder(args.model_options, args.embedder);
    if (!models) return report_error(models.error());
    own = std::move(*models);
    loaded = own.get();
  }
  std::fprintf(stderr, "visearch: the catalog changed: rebuilding its adaptation (--no-adapt skips this)\n");
  auto options = search::rebuild_options(catalog, adapt_options_with_progress(args));
  if (!options) return report_error(options.error());
  auto report = search::adapt_catalog(catalog, *loaded, *options);
  if (!report) return report_error(report.error());
  if (!report->stored)
    std::fprintf(stderr, "visearch: the adaptation was not rebuilt (%s); search uses the embedder's space\n",
                 report->not_stored_reason.c_str());
  return 0;
}

int run_adapt(const CatalogArgs& args) {
  auto store = open_cli_catalog(args.catalog, false);
  if (!store) return report_error(store.error());
  auto embedder = load_embedder(args.model_options, args.embedder);
  if (!embedder) return report_error(embedder.error());
  auto report = search::adapt_catalog(**store, **embedder, adapt_options_with_progress(args));
  if (!report) return report_error(report.error());
  print_adapt_report(*report, args.format);
  return 0;
}

int run_import(const CatalogArgs& args) {
  auto format = search::import_format_of(args.file);
  if (!format) return report_error(format.error());
  auto text = read_text_file(args.file);
  if (!text) return report_error(args.file, text.error());
  const search::ParsedCatalog parsed = search::parse_catalog(*text, *format);

  auto models = load_search_models(args.model_options, args.detector, args.embedder);
  if (!models) return report_error(models.error());
  auto store = open_cli_catalog(args.catalog, true);
  if (!store) return report_error(store.error());
  if (auto bound = (*store)->bind_embedder(models->embedder->spec().name, models->embedder->dimension(),
                                           models->detector->spec().name);
      !bound) {
    return report_error(bound.error());
  }
  const Detector& detector = *models->detector;
  const Embedder& embedder = *models->embedder;
  const auto analyze = [&](std::span<const std::uint8_t> bytes) -> Result<search::AnalyzedImage> {
    return search::analyse_product_photo(bytes, DecodeLimits{}, detector, embedder);
  };
  search::ImportOptions options;
  options.strict = args.strict;
  options.images_dir = args.images_dir;
  options.base_dir = fs::path(args.file).parent_path().string();
  const bool show_progress = args.progress || stderr_is_terminal();
  if (show_progress) {
    options.progress = [](std::size_t done, std::size_t total) {
      std::fprintf(stderr, "indexed %zu/%zu products\n", done, total);
      std::fflush(stderr);
    };
  }
  auto report = search::import_catalog(**store, parsed, analyze, options);
  if (!report) return report_error(report.error());
  for (const search::RowError& e : report->errors) {
    // Ids, paths and messages quote the user's data: escaped, so they cannot drive the terminal.
    std::fprintf(stderr, "visearch: error: %s:%zu%s: %s\n", search::escape_controls(args.file, 1000).c_str(),
                 e.line, e.id.empty() ? "" : (" (id " + search::escape_controls(e.id) + ")").c_str(),
                 search::escape_controls(e.message, 1000).c_str());
  }
  if (as_json(args.format)) {
    std::cout << to_json_text(search::import_report_to_json(*report)) << '\n';
  } else if (report->committed) {
    std::printf(
        "imported %d new, %d updated products (%d images indexed, %d reused); %zu failed; generation %lld\n",
        report->inserted, report->updated, report->images_indexed, report->images_reused,
        report->errors.size(), static_cast<long long>(report->generation));
  } else {
    std::printf("nothing imported: %zu row%s failed%s\n", report->errors.size(),
                report->errors.size() == 1 ? "" : "s",
                args.strict && !report->errors.empty() ? " (--strict)" : "");
  }
  if (report->committed) {
    if (const int refreshed = refresh_adaptation(args, **store, &embedder); refreshed != 0) return refreshed;
  }
  return report->errors.empty() ? 0 : 1;
}

int run_delete(const CatalogArgs& args) {
  auto store = open_cli_catalog(args.catalog, false);
  if (!store) return report_error(store.error());
  auto removed = (*store)->remove(args.ids);
  if (!removed) return report_error(removed.error());
  int exit_code = 0;
  for (const std::string& id : args.ids) {
    if (std::find(removed->begin(), removed->end(), id) == removed->end()) {
      exit_code = report_error(Error{ErrorCode::kNotFound, "no product with id '" + id + "'"});
    }
  }
  if (as_json(args.format)) {
    std::cout << to_json_text(json{{"deleted", *removed}}) << '\n';
  } else {
    std::printf("deleted %zu product%s\n", removed->size(), removed->size() == 1 ? "" : "s");
  }
  if (!removed->empty()) {
    if (const int refreshed = refresh_adaptation(args, **store, nullptr); refreshed != 0) return refreshed;
  }
  return exit_code;
}

int run_stats(const CatalogArgs& args) {
  auto store = open_cli_catalog(args.catalog, false);
  if (!store) return report_error(store.error());
  auto stats = (*store)->stats();
  if (!stats) return report_error(stats.error());
  if (as_json(args.format)) {
    std::cout << to_json_text(search::stats_to_json(*stats)) << '\n';
    return 0;
  }
  std::printf("catalog %s\n  products %lld, images %lld, vectors %lld, generation %lld\n",
              (*store)->location().c_str(), static_cast<long long>(stats->products),
              static_cast<long long>(stats->images), static_cast<long long>(stats->vectors),
              static_cast<long long>(stats->generation));
  std::printf("  embedder %s (%d-d), detector %s, database %.1f MB\n",
              stats->embedder.empty() ? "-" : stats->embedder.c_str(), stats->dimension,
              stats->detector.empty() ? "-" : stats->detector.c_str(),
              static_cast<double>(stats->database_bytes) / 1e6);
  for (const auto& [category, count] : stats->categories) {
    std::printf("  %-28s %lld\n", category.empty() ? "(none)" : category.c_str(),
                static_cast<long long>(count));
  }
  return 0;
}

int run_list(const CatalogArgs& args) {
  auto store = open_cli_catalog(args.catalog, false);
  if (!store) return report_error(store.error());
  search::ProductQuery query;
  query.text = args.text;
  query.filters.category = args.category;
  query.limit = args.limit;
  query.offset = args.offset;
  auto page = (*store)->query(query);
  if (!page) return report_error(page.error());
  if (as_json(args.format)) {
    json products = json::array();
    for (const search::Product& p : page->products) products.push_back(search::product_to_json(p));
    std::cout << to_json_text(json{{"total", page->total}, {"products", products}}) << '\n';
    return 0;
  }
  for (const search::Product& p : page->products) {
    std::printf("%-24s %-44s %-20s %10s\n", p.id.c_str(), p.title.c_str(), p.category.c_str(),
                p.price ? (std::to_string(*p.price).substr(0, std::to_string(*p.price).find('.') + 3) + " " +
                           p.currency)
                              .c_str()
                        : "-");
  }
  std::printf("%zu of %lld products\n", page->products.size(), static_cast<long long>(page->total));
  return 0;
}

int run_gc(const CatalogArgs& args) {
  auto uri = resolve_catalog_uri(args.catalog);
  if (!uri) return report_error(uri.error());
  auto parsed = search::parse_catalog_uri(*uri);
  if (!parsed) return report_error(parsed.error());
  if (parsed->engine != search::CatalogUri::Engine::kSqlite) {
    return report_error(Error{ErrorCode::kInvalidArgument,
                              "gc is for sqlite catalogs: an OpenSearch catalog's images are removed with "
                              "their generation"});
  }
  auto store = search::CatalogStore::open(parsed->path, false);
  if (!store) return report_error(store.error());
  auto removed = (*store)->collect_garbage(args.min_age_s);
  if (!removed) return report_error(removed.error());
  std::printf("removed %d unreferenced image file%s\n", *removed, *removed == 1 ? "" : "s");
  return 0;
}

int run_demo(const CatalogArgs& args) {
  auto mapping =
      search::LabelMapping::load(args.mapping.empty() ? search::default_label_mapping_path() : args.mapping);
  if (!mapping) return report_error(mapping.error());
  const fs::path shared(args.shared_dir);
  std::vector<search::LabelledBox> boxes;
  for (const std::string& source : args.sources) {
    Result<std::vector<search::LabelledBox>> found =
        source == "coco128"
            ? search::read_yolo_boxes((shared / "coco128-train2017").string(), "coco128")
            : search::read_coco_boxes(
                  (shared / "coco-mini-train2017" / "annotations" / "instances_train2017.json").string(),
                  (shared / "coco-mini-train2017" / "train2017").string(), "coco-mini");
    if (!found) return report_error(found.error());
    boxes.insert(boxes.end(), found->begin(), found->end());
  }
  auto report = search::write_demo_catalog(boxes, *mapping, args.out_dir, args.demo);
  if (!report) return report_error(report.error());
  std::printf("wrote %d products in %zu categories to %s/products.jsonl\n", report->products,
              report->per_label.size(), args.out_dir.c_str());
  return 0;
}

int run_migrate(const CatalogArgs& args) {
  auto from = open_cli_catalog(args.catalog, false);
  if (!from) return report_error(from.error());
  CatalogFlags to_flags = args.to;
  to_flags.uri = args.to_uri;
  auto to = open_cli_catalog(to_flags, true);
  if (!to) return report_error(to.error());
  auto stats = (*from)->stats();
  if (!stats) return report_error(stats.error());
  if (stats->dimension == 0) {
    return report_error(Error{ErrorCode::kInvalidArgument, (*from)->location() + " holds no vectors yet"});
  }
  if (auto bound = (*to)->bind_embedder(stats->embedder, stats->dimension, stats->detector); !bound) {
    return report_error(bound.error());
  }
  // Products with their vectors (no re-analysis), images copied by content, written in batches so a large
  // catalog needs little memory; each batch is one generation of the target.
  constexpr std::size_t kBatch = 2000;
  std::vector<search::ProductRecord> batch;
  long long copied = 0;
  search::Catalog& target = **to;
  search::Catalog& source = **from;
  const auto flush = [&]() -> Status {
    if (batch.empty()) return ok_status();
    auto written = target.upsert(batch);
    if (!written) return written.error();
    copied += static_cast<long long>(batch.size());
    if (stderr_is_terminal() || args.progress) std::fprintf(stderr, "copied %lld products\n", copied);
    batch.clear();
    return ok_status();
  };
  Status walked = source.for_each_record([&](const search::ProductRecord& record) -> Status {
    search::ProductRecord copy = record;
    for (search::ProductImage& image : copy.product.images) {
      auto bytes = source.image_bytes(image);
      if (!bytes) return bytes.error();
      const ImageFormat decoded_format = sniff_image_format(*bytes);
      auto stored = target.store_image(*bytes, decoded_format);
      if (!stored) return stored.error();
      image.file = stored->file;
      image.sha256 = stored->sha256;
      image.content_type = stored->content_type;
    }
    batch.push_back(std::move(copy));
    if (batch.size() >= kBatch) return flush();
    return ok_status();
  });
  if (!walked) return report_error(walked.error());
  if (auto last = flush(); !last) return report_error(last.error());
  auto after = target.stats();
  if (!after) return report_error(after.error());
  if (as_json(args.format)) {
    std::cout << to_json_text(json{{"from", source.location()},
                                   {"to", target.location()},
                                   {"products", copied},
                                   {"generation", after->generation}})
              << '\n';
  } else {
    std::printf("copied %lld products (%lld vectors) from %s to %s; generation %lld\n", copied,
                static_cast<long long>(after->vectors), source.location().c_str(), target.location().c_str(),
                static_cast<long long>(after->generation));
  }
  return 0;
}

void add_data_dir_option(CLI::App& cmd, CatalogArgs& args) {
  add_catalog_flags(cmd, args.catalog);
  cmd.add_option("--format", args.format, "json or table; default json unless stdout is a terminal")
      ->check(CLI::IsMember({"json", "table"}));
}

}  // namespace

void add_catalog_flags(CLI::App& cmd, CatalogFlags& flags) {
  cmd.add_option("--data-dir", flags.data_dir,
                 "Catalog folder, = --catalog sqlite:DIR (default: $VISEARCH_DATA_DIR)");
  cmd.add_option("--catalog", flags.uri,
                 "Catalog: sqlite:DIR or opensearch+http(s)://HOST:PORT[,HOST:PORT...]/INDEX_PREFIX "
                 "(default: $VISEARCH_CATALOG)");
  cmd.add_option("--catalog-credentials", flags.credentials,
                 "OpenSearch: file whose first line is user:password or ApiKey KEY")
      ->check(CLI::ExistingFile);
  cmd.add_option("--catalog-ca", flags.ca_file,
                 "OpenSearch: CA bundle (PEM) that signed the cluster's certificate")
      ->check(CLI::ExistingFile);
  cmd.add_flag("--catalog-insecure", flags.insecure,
               "OpenSearch over https without verifying its certificate");
}

Result<std::string> resolve_catalog_uri(const CatalogFlags& flags) {
  if (!flags.uri.empty() && !flags.data_dir.empty()) {
    return Unexpected{ErrorCode::kInvalidArgument, "give --catalog or --data-dir, not both"};
  }
  if (!flags.uri.empty()) return flags.uri;
  if (!flags.data_dir.empty()) return "sqlite:" + flags.data_dir;
  for (const char* name : {"VISEARCH_CATALOG", "VISEARCH_DATA_DIR"}) {
    const char* env = std::getenv(name);
    if (env != nullptr && *env != '\0')
      return std::string(name) == "VISEARCH_CATALOG" ? std::string(env) : "sqlite:" + std::string(env);
  }
  return Unexpected{
      ErrorCode::kInvalidArgument,
      "no catalog: give --data-dir DIR or --catalog URI (or set VISEARCH_DATA_DIR or VISEARCH_CATALOG)"};
}

Result<std::unique_ptr<search::Catalog>> open_cli_catalog(const CatalogFlags& flags, bool create,
                                                          const std::string& mapping,
                                                          const std::string& index) {
  auto uri = resolve_catalog_uri(flags);
  if (!uri) return uri.error();
  auto kind = search::parse_index_kind(index);
  if (!kind) return kind.error();
  search::CatalogOpenOptions options;
  options.uri = *uri;
  options.mapping_path = mapping;
  options.index = *kind;
  options.create = create;
  options.credentials_file = flags.credentials;
  options.ca_file = flags.ca_file;
  options.tls_verify = !flags.insecure;
  return search::open_catalog(options);
}

Result<SearchModels> load_search_models(const ModelOptions& options, const std::string& detector_name,
                                        const std::string& embedder_name) {
  const ModelRepository repository = make_repository(options);
  RuntimeOptions runtime;
  runtime.intra_op_threads = options.threads;
  auto detector_spec = repository.find_spec(detector_name);
  if (!detector_spec) return detector_spec.error();
  auto detector = Detector::load(*detector_spec, repository, families(), runtime);
  if (!detector) return detector.error();
  auto embedder_spec = repository.find_spec(embedder_name);
  if (!embedder_spec) return embedder_spec.error();
  auto embedder = Embedder::load(*embedder_spec, repository, runtime);
  if (!embedder) return embedder.error();
  return SearchModels{std::move(*detector), std::move(*embedder)};
}

Result<std::unique_ptr<Embedder>> load_embedder(const ModelOptions& options,
                                                const std::string& embedder_name) {
  const ModelRepository repository = make_repository(options);
  RuntimeOptions runtime;
  runtime.intra_op_threads = options.threads;
  auto spec = repository.find_spec(embedder_name);
  if (!spec) return spec.error();
  return Embedder::load(*spec, repository, runtime);
}

void add_catalog_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<CatalogArgs>();
  CLI::App* catalog = app.add_subcommand("catalog", "Manage the product catalog used by visual search");
  catalog->require_subcommand(1);

  CLI::App* import = catalog->add_subcommand(
      "import", "Import (upsert by id) products from .jsonl, .csv or .json; one transaction per file");
  import->add_option("file", args->file, "Product file (.jsonl, .csv or .json)")
      ->required()
      ->check(CLI::ExistingFile);
  import
      ->add_option("--images", args->images_dir,
                   "Folder that relative image paths start from (default: the file's)")
      ->check(CLI::ExistingDirectory);
  import->add_flag("--strict", args->strict, "Import nothing when any row is bad");
  import->add_flag("--progress", args->progress, "Print a progress line per product on stderr");
  import->add_option("--model", args->detector, "Detector for the products' main objects")
      ->capture_default_str();
  import->add_option("--embed-model", args->embedder, "Embedding model for the object crops")
      ->capture_default_str();
  add_model_options(*import, args->model_options);
  add_data_dir_option(*import, *args);
  import->add_flag("--no-adapt", args->no_adapt, "Leave an adapted catalog's adaptation stale (not rebuilt)");
  import->callback([args, exit_code] { *exit_code = run_import(*args);
});

CLI::App* remove = catalog->add_subcommand("delete", "Delete products by id (one transaction)");
remove->add_option("ids", args->ids, "Product ids")->required();
add_data_dir_option(*remove, *args);
remove->add_flag("--no-adapt", args->no_adapt, "Leave an adapted catalog's adaptation stale (not rebuilt)");
remove->add_option("--embed-model", args->embedder, "Embedding model (to rebuild an adaptation)")
    ->capture_default_str();
add_model_options(*remove, args->model_options);
remove->callback([args, exit_code] { *exit_code = run_delete(*args); });

CLI::App* adapt = catalog->add_subcommand(
    "adapt",
    "Learn the catalog's own embedding space from its product photos and categories (sqlite catalogs)");
adapt
    ->add_option_function<std::string>(
        "--method",
        [args](const std::string& text) {
          auto method = search::parse_adapt_method(text);
          if (!method) throw CLI::ValidationError("--method", method.error().message);
          args->adapt.method = *method;
        },
        "classifier (one dimension per category), projection (--dim, --heads) or auto (the classifier up "
        "to --classifier-max-categories)")
    ->default_str("auto");
adapt
    ->add_option("--attribute-weight", args->adapt.attribute_weight,
                 "Share of the adapted similarity for product attributes the classifier also learns "
                 "(colour, material, brand...; 0: none)")
    ->check(CLI::Range(0.0, 0.5))
    ->capture_default_str();
adapt
    ->add_option("--attribute-min-products", args->adapt.min_products_per_value,
                 "An attribute value is learnt when at least N products declare it")
    ->check(CLI::Range(1, 1000000))
    ->capture_default_str();
adapt
    ->add_option("--attributes", args->adapt.attribute_keys,
                 "Attribute keys to learn (comma-separated; default: every categorical-looking one)")
    ->delimiter(',');
adapt
    ->add_option("--classifier-max-categories", args->adapt.max_classifier_categories,
                 "--method auto: the most categories the classifier is used for (its space has one "
                 "dimension per category)")
    ->check(CLI::Range(2, 100000))
    ->capture_default_str();
adapt->add_option("--views", args->adapt.views, "Augmented crops per object")
    ->check(CLI::Range(0, 64))
    ->capture_default_str();
adapt->add_option("--dim", args->adapt.train.out_dim, "Dimensions of the adapted space (projection)")
    ->check(CLI::Range(8, 1024))
    ->capture_default_str();
adapt->add_option("--epochs", args->adapt.train.epochs, "Training epochs (projection)")
    ->check(CLI::Range(1, 1000))
    ->capture_default_str();
adapt
    ->add_option("--heads", args->adapt.heads,
                 "Projections trained with different seeds, each --dim / heads dimensions, searched as one "
                 "(projection)")
    ->check(CLI::Range(1, 16))
    ->capture_default_str();
adapt
    ->add_option("--max-per-category", args->adapt.max_objects_per_category,
                 "Train on at most N objects of each category")
    ->check(CLI::Range(1, 1000000))
    ->capture_default_str();
adapt
    ->add_option("--holdout", args->adapt.holdout_fraction,
                 "Share of each category's products held out to choose the mix and check the gain")
    ->check(CLI::Range(0.0, 0.5))
    ->capture_default_str();
adapt->add_option("--holdout-by", args->adapt.holdout_by,
                  "Hold out together the products sharing this attribute's value (a photo shoot, a source "
                  "photo), so none is judged against its look-alike siblings");
adapt->add_option("--seed", args->adapt.seed, "Seed (hold-out, augmentation, initialisation)")
    ->capture_default_str();
adapt->add_flag("--force", args->adapt.force, "Store it even when held-out products rank worse with it");
adapt->add_flag("--progress", args->progress, "Print progress on stderr");
adapt->add_option("--embed-model", args->embedder, "Embedding model (the catalog's)")->capture_default_str();
add_model_options(*adapt, args->model_options);
add_data_dir_option(*adapt, *args);
adapt->callback([args, exit_code] { *exit_code = run_adapt(*args); });

CLI::App* stats = catalog->add_subcommand("stats", "Counts, categories, embedder and size of the catalog");
add_data_dir_option(*stats, *args);
stats->callback([args, exit_code] { *exit_code = run_stats(*args); });

CLI::App* list =
    catalog->add_subcommand("list", "List products, optionally matching words (FTS5) or a category");
list->add_option("-q,--query", args->text, "Words that must all match (the last one as a prefix)");
list->add_option("--category", args->category, "Only this category");
list->add_option("--limit", args->limit, "At most N products")
    ->check(CLI::Range(1, 1000))
    ->capture_default_str();
list->add_option("--offset", args->offset, "Skip the first N")->check(CLI::Range(0, 100000000));
add_data_dir_option(*list, *args);
list->callback([args, exit_code] { *exit_code = run_list(*args); });

CLI::App* gc =
    catalog->add_subcommand("gc", "Delete image files no product references (left by failed imports)");
gc->add_option("--min-age", args->min_age_s, "Only files older than this many seconds")
    ->capture_default_str();
add_data_dir_option(*gc, *args);
gc->callback([args, exit_code] { *exit_code = run_gc(*args); });

CLI::App* migrate = catalog->add_subcommand(
    "migrate",
    "Copy a catalog with its vectors to another catalog (e.g. SQLite to OpenSearch), no re-analysis");
migrate->add_option("--from", args->catalog.uri, "Source catalog URI (or --data-dir / --catalog)");
migrate->add_option("--to", args->to_uri, "Target catalog URI")->required();
migrate->add_option("--to-credentials", args->to.credentials, "OpenSearch target: credentials file")
    ->check(CLI::ExistingFile);
migrate->add_option("--to-ca", args->to.ca_file, "OpenSearch target: CA bundle")->check(CLI::ExistingFile);
migrate->add_flag("--to-insecure", args->to.insecure, "OpenSearch target over https without verification");
migrate->add_flag("--progress", args->progress, "Print progress on stderr");
add_data_dir_option(*migrate, *args);
migrate->callback([args, exit_code] { *exit_code = run_migrate(*args); });

CLI::App* demo = catalog->add_subcommand(
    "demo", "Write a demo product file (crops of the labelled COCO objects in the shared data) to import");
demo->add_option("--out", args->out_dir, "Folder for products.jsonl and images/")->required();
demo->add_option("--shared", args->shared_dir,
                 "The shared data folder (with coco128-train2017, coco-mini-train2017)")
    ->required()
    ->check(CLI::ExistingDirectory);
demo->add_option("--sources", args->sources, "Labelled sets to take objects from (repeatable)")
    ->allow_extra_args(false)
    ->check(CLI::IsMember({"coco128", "coco-mini"}))
    ->capture_default_str();
demo->add_option("--mapping", args->mapping, "Label mapping for categories (default: the shipped one)");
demo->add_option("--max-per-label", args->demo.max_per_label, "At most N products per object class")
    ->check(CLI::Range(1, 100000))
    ->capture_default_str();
demo->add_option("--min-side", args->demo.min_side, "Skip objects smaller than this (pixels)")
    ->check(CLI::Range(8, 10000))
    ->capture_default_str();
demo->add_option("--seed", args->demo.seed, "Seed for brands, titles and prices")->capture_default_str();
demo->callback([args, exit_code] { *exit_code = run_demo(*args); });
}  // namespace visearch::cli

}  // namespace visearch::cli
