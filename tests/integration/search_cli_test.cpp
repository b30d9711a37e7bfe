// `visearch catalog ...` and `visearch search` as a user runs them: line-numbered import errors, --strict,
// CSV, delete, stats, search output; and a kill -9 of the importer, mid-analysis and mid-transaction,
// leaves the previous catalog intact and usable.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "../golden/cli_runner.h"
#include "search_fixture.h"
#include "server_fixture.h"

namespace visearch::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json stats_of(const std::string& data_dir) {
  std::string out;
  std::string err;
  EXPECT_EQ(run_visearch("catalog stats --format json --data-dir " + shell_quote(data_dir), &out, &err), 0)
      << err;
  return json::parse(out, nullptr, false);
}

std::string first_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

TEST(SearchCli, ImportReportsBadRowsByLineAndImportsTheRest) {
  const SearchCatalog& c = search_catalog();
  const std::string data = copy_catalog(c.data_a, "cli_bad_rows");
  json good = json::parse(first_line_of(c.batch_a));
  good["id"] = "extra-1";
  good["title"] = "Extra product";
  const std::string file = scratch_dir("bad_rows") + "/bad_rows.jsonl";
  {
    std::ofstream out(file);
    out << good.dump() << "\n"
        << "{this is not json\n"
        << R"({"id": "no-image-file", "title": "Ghost", "images": ["images/missing.jpg"]})"
        << "\n";
  }
  std::string out;
  std::string err;
  const std::string images = " --images " + shell_quote(c.demo_dir);
  EXPECT_EQ(run_visearch("catalog import --format json " + shell_quote(file) + images + " --data-dir " +
                             shell_quote(data),
                         &out, &err),
            1);
  EXPECT_NE(err.find("bad_rows.jsonl:2"), std::string::npos) << err;
  EXPECT_NE(err.find("bad_rows.jsonl:3 (id no-image-file)"), std::string::npos) << err;
  EXPECT_NE(err.find("missing.jpg"), std::string::npos) << err;
  const json report = json::parse(out);
  EXPECT_TRUE(report.at("committed").get<bool>());
  EXPECT_EQ(report.at("inserted"), 1);
  EXPECT_EQ(report.at("failed"), 2);
  EXPECT_EQ(report.at("errors").at(0).at("line"), 2);
  EXPECT_EQ(stats_of(data).at("products"), c.ids_a.size() + 1);

  // --strict: the same file imports nothing.
  const std::string strict = copy_catalog(c.data_a, "cli_strict");
  EXPECT_EQ(run_visearch("catalog import --strict --format json " + shell_quote(file) + images +
                             " --data-dir " + shell_quote(strict),
                         &out, &err),
            1);
  EXPECT_FALSE(json::parse(out).at("committed").get<bool>());
  EXPECT_EQ(stats_of(strict).at("products"), c.ids_a.size());
  EXPECT_EQ(stats_of(strict).at("generation"), 1);
}

TEST(SearchCli, CsvImportListDeleteAndStats) {
  const SearchCatalog& c = search_catalog();
  const std::string data = copy_catalog(c.data_a, "cli_csv");
  const json a = json::parse(first_line_of(c.batch_a));
  const std::string image = a.at("images").at(0);
  const std::string file = scratch_dir("csv") + "/two.csv";
  {
    std::ofstream out(file);
    out << "id,title,category,price,images,color\n"
        << "csv-1,\"Zebra-striped mug, large\",Mugs & Cups,19.5," << image << ",black\n"
        << "csv-2,Plain zebra plate,Plates,4," << image << ",white\n";
  }
  std::string out;
  std::string err;
  ASSERT_EQ(run_visearch("catalog import --format json " + shell_quote(file) + " --images " +
                             shell_quote(c.demo_dir) + " --data-dir " + shell_quote(data),
                         &out, &err),
            0)
      << err;
  EXPECT_EQ(json::parse(out).at("images_reused"), 2);  // the content is already indexed: no model run
  ASSERT_EQ(run_visearch("catalog list --format json -q zebra --data-dir " + shell_quote(data), &out, &err),
            0)
      << err;
  const json listed = json::parse(out);
  EXPECT_EQ(listed.at("total"), 2);
  std::set<std::string> listed_ids;
  for (const json& p : listed.at("products")) listed_ids.insert(p.at("id").get<std::string>());
  EXPECT_EQ(listed_ids, (std::set<std::string>{"csv-1", "csv-2"}));
  ASSERT_EQ(run_visearch("catalog list --format json --category plates --data-dir " + shell_quote(data), &out,
                         &err),
            0);
  EXPECT_EQ(json::parse(out).at("products").at(0).at("attributes").at("color"), "white");

  ASSERT_EQ(
      run_visearch("catalog delete csv-1 csv-2 --format json --data-dir " + shell_quote(data), &out, &err), 0)
      << err;
  EXPECT_EQ(json::parse(out).at("deleted").size(), 2U);
  EXPECT_EQ(run_visearch("catalog delete csv-1 --data-dir " + shell_quote(data), &out, &err), 1);
  EXPECT_NE(err.find("csv-1"), std::string::npos);
  const json stats = stats_of(data);
  EXPECT_EQ(stats.at("products"), c.ids_a.size());
  EXPECT_EQ(stats.at("embedder"), "mobilenetv2_embed");
  EXPECT_EQ(stats.at("dimension"), 1280);
  EXPECT_EQ(run_visearch("catalog stats --data-dir " + shell_quote(c.root + "/nothing-here"), &out, &err), 1);
  EXPECT_NE(err.find("no catalog"), std::string::npos) << err;
}

TEST(SearchCli, SearchFindsProductsForEachObject) {
  const SearchCatalog& c = search_catalog();
  std::string out;
  std::string err;
  ASSERT_EQ(run_visearch("search --format json --limit 3 --data-dir " + shell_quote(c.data_a) + " " +
                             shell_quote(sample("000000002592.jpg")),
                         &out, &err),
            0)
      << err;
  const json result = json::parse(out);
  EXPECT_EQ(result.at("image").at("width"), 640);
  bool cup = false;
  for (const json& object : result.at("objects")) {
    EXPECT_LE(object.at("products").size(), 3U);
    if (object.at("label") != "cup") continue;
    cup = true;
    ASSERT_FALSE(object.at("products").empty());
    EXPECT_EQ(object.at("products").at(0).at("category"), "Mugs & Cups");
  }
  EXPECT_TRUE(cup) << out;

  // One region, filtered to a category, label ranking only.
  ASSERT_EQ(
      run_visearch("search --format json --box 215,35,435,240 --category Bowls --ranking label --data-dir " +
                       shell_quote(c.data_a) + " " + shell_quote(sample("000000002592.jpg")),
                   &out, &err),
      0)
      << err;
  const json boxed = json::parse(out);
  ASSERT_EQ(boxed.at("objects").size(), 1U);
  EXPECT_EQ(boxed.at("ranking"), "label");
  EXPECT_TRUE(boxed.at("objects").at(0).at("products").empty());  // a cup is not a bowl by label

  EXPECT_EQ(run_visearch("search --data-dir " + shell_quote(c.data_a) + " --box 1,2,3 " +
                             shell_quote(sample("bus.jpg")),
                         &out, &err),
            2);
  EXPECT_NE(err.find("box"), std::string::npos);
}

// `visearch catalog adapt`: the adaptation is stored for the catalog's generation and used by search; an
// import with --no-adapt leaves it stale (search back in the embedder's space); a delete rebuilds it with
// the settings it was made with.
TEST(SearchCli, AnAdaptationIsUsedWhileFreshIgnoredWhenStaleAndRebuiltAfterAChange) {
  const SearchCatalog& c = search_catalog();
  const std::string dir = copy_catalog(c.data_a, "adapted");
  std::string out;
  std::string err;
  // Heads that do not divide the dimensions are refused before any work.
  EXPECT_EQ(run_visearch("catalog adapt --heads 3 --dim 16 --data-dir " + shell_quote(dir), &out, &err), 2);
  EXPECT_NE(err.find("heads must"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir + "/adaptation.bin"));
  ASSERT_EQ(run_visearch("catalog adapt --format json --method projection --views 1 --epochs 5 --heads 2 "
                         "--force --data-dir " +
                             shell_quote(dir),
                         &out, &err),
            0)
      << err;
  const json report = json::parse(out);
  EXPECT_TRUE(report.at("stored").get<bool>()) << out;
  const json first = json::parse(adaptation_header_json(dir + "/adaptation.bin"));
  EXPECT_EQ(first.at("heads").get<int>(), 2) << first.dump();
  EXPECT_EQ(report.at("generation"), stats_of(dir).at("generation")) << out;
  EXPECT_GE(report.at("categories").get<int>(), 2);
  ASSERT_TRUE(fs::exists(dir + "/adaptation.bin"));

  const auto adapted = [&]() {
    std::string o;
    std::string e;
    EXPECT_EQ(run_visearch("search --format json --limit 3 --data-dir " + shell_quote(dir) + " " +
                               shell_quote(sample("000000002592.jpg")),
                           &o, &e),
              0)
        << e;
    return json::parse(o).at("catalog").at("adapted").get<bool>();
  };
  EXPECT_TRUE(adapted());

  // An import without a rebuild: stale, so ignored.
  ASSERT_EQ(run_visearch("catalog import --no-adapt --format json --data-dir " + shell_quote(dir) + " " +
                             shell_quote(c.batch_b),
                         &out, &err),
            0)
      << err;
  EXPECT_FALSE(adapted());

  // A delete rebuilds it for the new generation, with the stored settings (one view per object).
  ASSERT_EQ(run_visearch("catalog delete --format json --data-dir " + shell_quote(dir) + " " +
                             shell_quote(*c.ids_b.begin()),
                         &out, &err),
            0)
      << err;
  EXPECT_NE(err.find("rebuilding its adaptation"), std::string::npos) << err;
  EXPECT_TRUE(adapted());
  const json stats = stats_of(dir);
  std::ifstream file(dir + "/adaptation.bin", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 12U);
  std::uint32_t length = 0;
  std::memcpy(&length, bytes.data() + 8, sizeof length);
  const json header = json::parse(bytes.substr(12, length));
  EXPECT_EQ(header.at("generation"), stats.at("generation"));
  EXPECT_EQ(header.at("report").at("settings").at("views"), 1);
  EXPECT_EQ(header.at("report").at("views").get<int>(), header.at("report").at("trained_objects").get<int>());
  EXPECT_EQ(header.at("heads").get<int>(), 2);  // the rebuild keeps the settings it was made with
  EXPECT_EQ(header.at("output"), "cosine");
  EXPECT_EQ(header.at("report").at("method"), "projection");

  // A file of the older layout (one projection, "VSADAPT1"): search ignores it, and the next change of
  // the catalog rebuilds it like a stale one instead of failing.
  bytes.replace(0, 8, "VSADAPT1");
  {
    std::ofstream older(dir + "/adaptation.bin", std::ios::binary | std::ios::trunc);
    older << bytes;
  }
  EXPECT_FALSE(adapted());
  ASSERT_EQ(run_visearch(
                "catalog import --format json --data-dir " + shell_quote(dir) + " " + shell_quote(c.batch_b),
                &out, &err),
            0)
      << err;
  EXPECT_NE(err.find("rebuilding its adaptation"), std::string::npos) << err;
  EXPECT_TRUE(adapted());
}

// The rows of a two-column text query on a catalog file (empty when it cannot be read or run).
std::vector<std::pair<std::string, std::string>> two_column_rows(const std::string& db_path,
                                                                 const char* sql) {
  std::vector<std::pair<std::string, std::string>> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK) {
      const auto text = [stmt](int column) {
        const unsigned char* t = sqlite3_column_text(stmt, column);
        return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));  // NOLINT
      };
      while (sqlite3_step(stmt) == SQLITE_ROW) rows.emplace_back(text(0), text(1));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return rows;
}

// The default adaptation is the category classifier (one dimension per category, "softmax" output) and it
// learns from the products' own objects only: an object whose label the label mapping does not map to its
// product's category (a person in a chair's photo) is counted out, in a category that has own objects.
// Named attributes (the colour) are learnt too, and every product's declared value is stored.
TEST(SearchCli, TheDefaultAdaptationIsAClassifierOfTheProductsOwnObjects) {
  const SearchCatalog& c = search_catalog();
  const std::string dir = copy_catalog(c.data_a, "adapted_classifier");
  // What the rule leaves out, counted here from the catalog file and the shipped mapping.
  const json mapping =
      json::parse(std::ifstream(std::string(VISEARCH_SOURCE_DIR) + "/data/search/label_mapping.json"));
  // (lower-case category, label)
  const std::vector<std::pair<std::string, std::string>> objects =
      two_column_rows(dir + "/catalog.db",
                      "SELECT lower(p.category), o.label FROM image_objects o JOIN products p ON "
                      "p.id = o.product_id WHERE p.category <> ''");
  ASSERT_FALSE(objects.empty());
  const auto own = [&](const std::pair<std::string, std::string>& o) {
    const json& labels = mapping.at("labels");
    if (!labels.contains(o.second)) return false;
    for (const json& category : labels.at(o.second).at("categories")) {
      std::string lower = category.get<std::string>();
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower == o.first) return true;
    }
    return false;
  };
  std::set<std::string> categories;
  std::set<std::string> with_own;
  for (const auto& o : objects) {
    categories.insert(o.first);
    if (own(o)) with_own.insert(o.first);
  }
  int others = 0;
  for (const auto& o : objects) others += with_own.count(o.first) != 0 && !own(o) ? 1 : 0;
  ASSERT_GT(others, 0) << "the test catalog should have photos with objects of other categories";

  std::string out;
  std::string err;
  ASSERT_EQ(run_visearch("catalog adapt --format json --views 1 --force --data-dir " + shell_quote(dir), &out,
                         &err),
            0)
      << err;
  const json report = json::parse(out);
  EXPECT_EQ(report.at("method"), "classifier") << out;
  EXPECT_EQ(report.at("objects").get<std::size_t>(), objects.size()) << out;
  EXPECT_EQ(report.at("other_objects").get<int>(), others) << out;
  EXPECT_EQ(report.at("trained_objects").get<std::size_t>(),
            objects.size() - static_cast<std::size_t>(others))
      << out;
  EXPECT_EQ(report.at("anchor").get<double>(), 0.0) << out;
  EXPECT_LT(report.at("mix").get<double>(), 1.0) << out;
  const json header = json::parse(adaptation_header_json(dir + "/adaptation.bin"));
  EXPECT_EQ(header.at("output"), "softmax");
  EXPECT_EQ(header.at("heads").get<int>(), 1);
  EXPECT_EQ(header.at("out_dim").get<std::size_t>(), categories.size());
  EXPECT_EQ(header.at("labels").size(), categories.size());
  EXPECT_EQ(header.at("report").at("settings").at("method"), "auto");
  // Search uses it.
  ASSERT_EQ(run_visearch("search --format json --limit 3 --data-dir " + shell_quote(dir) + " " +
                             shell_quote(sample("000000002592.jpg")),
                         &out, &err),
            0)
      << err;
  EXPECT_TRUE(json::parse(out).at("catalog").at("adapted").get<bool>()) << out;
  // Too few products per colour in this small catalog for the default rules: no attribute is learnt.
  EXPECT_TRUE(report.at("attributes").empty()) << out;

  // Named, with a lower per-value count: the colour is learnt too (nothing held out, so nothing drops it).
  // Its values are those declared by 4+ products; every product's declared value is stored.
  std::map<std::string, std::string> colour_of;  // product id -> declared colour (lower-case)
  std::map<std::string, int> colour_count;
  for (const auto& [id, colour] :
       two_column_rows(dir + "/catalog.db",
                       "SELECT id, lower(coalesce(json_extract(attributes, '$.color'), '')) FROM products "
                       "WHERE category <> ''")) {
    colour_of[id] = colour;
    if (!colour.empty()) ++colour_count[colour];
  }
  ASSERT_FALSE(colour_of.empty());
  std::vector<std::string> expected_values;
  for (const auto& [colour, n] : colour_count)
    if (n >= 4) expected_values.push_back(colour);
  ASSERT_GE(expected_values.size(), 2U) << "the test catalog should have two colours on 4+ products";
  ASSERT_EQ(run_visearch("catalog adapt --format json --views 0 --holdout 0 --force --attributes color "
                         "--attribute-min-products 4 --attribute-weight 0.2 --data-dir " +
                             shell_quote(dir),
                         &out, &err),
            0)
      << err;
  const json with_colour = json::parse(out);
  ASSERT_EQ(with_colour.at("attributes").size(), 1U) << out;
  EXPECT_EQ(with_colour.at("attributes").at(0).at("key"), "color");
  EXPECT_TRUE(with_colour.at("attributes").at(0).at("learnt").get<bool>());
  const json coloured = json::parse(adaptation_header_json(dir + "/adaptation.bin"));
  ASSERT_EQ(coloured.at("attributes").size(), 1U) << coloured.dump();
  EXPECT_EQ(coloured.at("attributes").at(0).at("values").get<std::vector<std::string>>(), expected_values);
  EXPECT_DOUBLE_EQ(coloured.at("attributes").at(0).at("weight").get<double>(), 0.2);
  EXPECT_EQ(coloured.at("out_dim").get<std::size_t>(), categories.size() + expected_values.size());
  const json& stored = coloured.at("product_attributes");
  EXPECT_EQ(stored.size(), colour_of.size());
  for (const auto& [id, colour] : colour_of) {
    const auto it = std::find(expected_values.begin(), expected_values.end(), colour);
    const int expected = it == expected_values.end() ? -1 : static_cast<int>(it - expected_values.begin());
    EXPECT_EQ(stored.at(id).at(0).get<int>(), expected) << id << " " << colour;
  }
  ASSERT_EQ(run_visearch("search --format json --limit 3 --data-dir " + shell_quote(dir) + " " +
                             shell_quote(sample("000000002592.jpg")),
                         &out, &err),
            0)
      << err;
  EXPECT_TRUE(json::parse(out).at("catalog").at("adapted").get<bool>()) << out;

  // --holdout-by is one of the settings a rebuild keeps.
  ASSERT_EQ(run_visearch("catalog adapt --format json --views 0 --force --holdout-by color --data-dir " +
                             shell_quote(dir),
                         &out, &err),
            0)
      << err;
  EXPECT_EQ(json::parse(adaptation_header_json(dir + "/adaptation.bin"))
                .at("report")
                .at("settings")
                .at("holdout_by"),
            "color");

  // Above --classifier-max-categories, auto trains the projection (a fixed-size space).
  ASSERT_EQ(
      run_visearch("catalog adapt --format json --views 0 --epochs 2 --force --classifier-max-categories " +
                       std::to_string(categories.size() - 1) + " --data-dir " + shell_quote(dir),
                   &out, &err),
      0)
      << err;
  EXPECT_EQ(json::parse(out).at("method"), "projection") << out;
  EXPECT_EQ(json::parse(adaptation_header_json(dir + "/adaptation.bin")).at("output"), "cosine");
  // An unknown method is refused before any work.
  EXPECT_EQ(run_visearch("catalog adapt --method nearest --data-dir " + shell_quote(dir), &out, &err), 2);
  EXPECT_NE(err.find("projection"), std::string::npos) << err;
}

// `visearch search-eval`: a judgments file through the same analysis and ranking as `visearch search`; the
// figures equal what the search's own output gives when counted by hand.
TEST(SearchCli, SearchEvalScoresJudgmentsAsTheSearchRanks) {
  const SearchCatalog& c = search_catalog();
  std::string out;
  std::string err;
  // The cup's box as the detector sees it, and the search's own top 10 for that region.
  ASSERT_EQ(run_visearch("search --format json --limit 3 --data-dir " + shell_quote(c.data_a) + " " +
                             shell_quote(sample("000000002592.jpg")),
                         &out, &err),
            0)
      << err;
  json cup_box;
  const json detected = json::parse(out);
  for (const json& object : detected.at("objects")) {
    if (object.at("label") == "cup") cup_box = object.at("box");
  }
  ASSERT_FALSE(cup_box.is_null()) << out;
  const std::string box_arg = std::to_string(cup_box.at("x1").get<double>()) + "," +
                              std::to_string(cup_box.at("y1").get<double>()) + "," +
                              std::to_string(cup_box.at("x2").get<double>()) + "," +
                              std::to_string(cup_box.at("y2").get<double>());
  ASSERT_EQ(
      run_visearch("search --format json --limit 10 --ranking fused --index exact --box " + box_arg +
                       " --data-dir " + shell_quote(c.data_a) + " " + shell_quote(sample("000000002592.jpg")),
                   &out, &err),
      0)
      << err;
  const json ranked = json::parse(out).at("objects").at(0).at("products");
  int hits5 = 0;
  int first = 0;
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    if (ranked[i].at("category") != "Mugs & Cups") continue;
    if (i < 5) ++hits5;
    if (first == 0) first = static_cast<int>(i) + 1;
  }
  int mugs = 0;
  for (const auto& [id, category] : c.category_of) mugs += category == "Mugs & Cups" ? 1 : 0;

  const std::string dir = scratch_dir("search_eval");
  const json box = {cup_box.at("x1"), cup_box.at("y1"), cup_box.at("x2"), cup_box.at("y2")};
  {
    std::ofstream f(dir + "/judgments.jsonl");
    f << json{{"id", "cup"},
              {"image", sample("000000002592.jpg")},
              {"box", box},
              {"categories", {"mugs & cups"}}}
             .dump()
      << "\n# a comment line\n"
      << json{{"id", "corner"},
              {"image", sample("000000002592.jpg")},
              {"box", {0, 0, 30, 30}},
              {"categories", {{"Mugs & Cups", 2}}}}
             .dump()
      << "\n"
      << json{{"id", "absent"}, {"image", sample("000000002592.jpg")}, {"products", {"no-such-product"}}}
             .dump()
      << "\n";
  }
  ASSERT_EQ(run_visearch("search-eval --format json --k 5,10 --queries " +
                             shell_quote(dir + "/judgments.jsonl") + " --data-dir " + shell_quote(c.data_a),
                         &out, &err),
            0)
      << err;
  const json report = json::parse(out);
  EXPECT_EQ(report.at("queries"), 3);
  EXPECT_EQ(report.at("without_relevant"), 1);  // "absent": nothing relevant in the catalog
  EXPECT_EQ(report.at("object_recall").at("judged"), 2);
  EXPECT_EQ(report.at("object_recall").at("found"), 1);  // the cup, not the empty corner
  const json& fused = report.at("rankings").at("fused");
  EXPECT_EQ(fused.at("scored"), 2);
  const json& cup = fused.at("per_query").at(0);
  EXPECT_EQ(cup.at("id"), "cup");
  EXPECT_TRUE(cup.at("object_found").get<bool>());
  EXPECT_EQ(cup.at("relevant_in_catalog"), mugs);
  EXPECT_NEAR(cup.at("precision").at("5").get<double>(), hits5 / 5.0, 1e-9) << ranked.dump();
  EXPECT_NEAR(cup.at("recall").at("5").get<double>(), static_cast<double>(hits5) / mugs, 1e-9);
  EXPECT_NEAR(cup.at("reciprocal_rank").get<double>(), first > 0 ? 1.0 / first : 0.0, 1e-9);
  EXPECT_GT(hits5, 0);
  EXPECT_TRUE(report.at("rankings").contains("visual"));
  EXPECT_TRUE(report.at("rankings").contains("label"));

  // A malformed judgments file: a usage error naming the line.
  {
    std::ofstream f(dir + "/bad.jsonl");
    f << json{{"image", sample("bus.jpg")}, {"categories", {"Mugs & Cups"}}}.dump() << "\n"
      << R"({"image": "x.jpg", "box": [5, 5, 1, 1], "categories": ["a"]})"
      << "\n";
  }
  EXPECT_EQ(run_visearch("search-eval --queries " + shell_quote(dir + "/bad.jsonl") + " --data-dir " +
                             shell_quote(c.data_a),
                         &out, &err),
            2);
  EXPECT_NE(err.find("line 2"), std::string::npos) << err;
}

// kill -9 while the importer is still running the models: nothing was written.
TEST(SearchCli, KillDuringAnalysisLeavesThePreviousCatalog) {
  const SearchCatalog& c = search_catalog();
  const std::string data = copy_catalog(c.data_a, "cli_kill_analysis");
  {
    VisearchChild importer({"catalog", "import", c.batch_b, "--data-dir", data, "--progress"}, {});
    ASSERT_TRUE(importer.wait_for_stderr("indexed 2/", 30000)) << importer.stderr_text();
    importer.kill_hard();
  }
  EXPECT_EQ(integrity_check(data), "ok");
  const json stats = stats_of(data);
  EXPECT_EQ(stats.at("products"), c.ids_a.size());
  EXPECT_EQ(stats.at("generation"), 1);
}

// kill -9 inside the write transaction (slowed down by a test-only delay per row): the catalog holds the
// old products only, opens cleanly, and a later import completes.
TEST(SearchCli, KillDuringTheTransactionLeavesThePreviousCatalog) {
  const SearchCatalog& c = search_catalog();
  const std::string data = copy_catalog(c.data_a, "cli_kill_txn");
  const std::string total =
      "indexed " + std::to_string(c.ids_b.size()) + "/" + std::to_string(c.ids_b.size());
  {
    VisearchChild importer({"catalog", "import", c.batch_b, "--data-dir", data, "--progress"},
                           {{"VISEARCH_TEST_UPSERT_ROW_DELAY_MS", "300"}});
    ASSERT_TRUE(importer.wait_for_stderr(total, 60000)) << importer.stderr_text();
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // a few rows into the transaction
    importer.kill_hard();
  }
  EXPECT_TRUE(fs::exists(data + "/catalog.db-wal"));
  EXPECT_EQ(integrity_check(data), "ok");
  json stats = stats_of(data);
  EXPECT_EQ(stats.at("products"), c.ids_a.size());
  EXPECT_EQ(stats.at("generation"), 1);
  std::string out;
  std::string err;
  ASSERT_EQ(run_visearch(
                "catalog import --format json " + shell_quote(c.batch_b) + " --data-dir " + shell_quote(data),
                &out, &err),
            0)
      << err;
  stats = stats_of(data);
  EXPECT_EQ(stats.at("products"), c.ids_a.size() + c.ids_b.size());
  EXPECT_EQ(stats.at("generation"), 2);
  EXPECT_EQ(integrity_check(data), "ok");
}

}  // namespace
}  // namespace visearch::testing
