// The search routes of the real `visearch serve` on loopback: POST /v1/search (multipart and JSON, box,
// filters, errors), the product routes (list, get, bulk import, delete, images with ETag), the static web
// UI (content types, caching headers, no path traversal), the API key on writes, search switched off
// without a catalog, and correct answers while an import commits from another process.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "../golden/cli_runner.h"
#include "search_fixture.h"
#include "server_fixture.h"

namespace visearch::testing {
namespace {

using nlohmann::json;

class SearchServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const SearchCatalog& c = search_catalog();
    data_ = new std::string(copy_catalog(c.data_a, "server_data"));
    server_ =
        new ServerProcess({"--data-dir", *data_, "--static-dir", std::string(VISEARCH_SOURCE_DIR) + "/web",
                           "--workers", "2", "--queue-size", "32"});
    ASSERT_TRUE(server_->ready()) << server_->log();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete data_;
    server_ = nullptr;
  }
  static httplib::Result search_photo(const std::string& name, httplib::MultipartFormDataItems extra = {}) {
    auto c = server_->client();
    httplib::MultipartFormDataItems items{{"image", read_file(sample(name)), name, "image/jpeg"}};
    items.insert(items.end(), extra.begin(), extra.end());
    return c.Post("/v1/search", items);
  }
  static ServerProcess* server_;
  static std::string* data_;
};
ServerProcess* SearchServerTest::server_ = nullptr;
std::string* SearchServerTest::data_ = nullptr;

TEST_F(SearchServerTest, SearchReturnsEachObjectWithRankedProducts) {
  auto res = search_photo("000000001503.jpg", {{"limit", "4", "", ""}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  EXPECT_EQ(body.at("source"), "000000001503.jpg");
  EXPECT_EQ(body.at("model"), "picodet_s_416");
  EXPECT_EQ(body.at("embedder"), "mobilenetv2_embed");
  EXPECT_EQ(body.at("catalog").at("index"), "exact");
  const int width = body.at("image").at("width");
  const int height = body.at("image").at("height");
  std::set<std::string> labels;
  for (const json& object : body.at("objects")) {
    labels.insert(object.at("label").get<std::string>());
    const json& box = object.at("box");
    EXPECT_GE(box.at("x1").get<double>(), 0.0);
    EXPECT_LE(box.at("x2").get<double>(), width);
    EXPECT_LE(box.at("y2").get<double>(), height);
    EXPECT_GT(object.at("score").get<double>(), 0.0);
    ASSERT_LE(object.at("products").size(), 4U);
    double previous = 2.0;
    for (const json& p : object.at("products")) {
      for (const char* key : {"id", "title", "category", "price", "currency", "image_url", "score"}) {
        EXPECT_TRUE(p.contains(key)) << key;
      }
      for (const char* key : {"visual", "label", "text", "category"}) {
        EXPECT_TRUE(p.at("components").contains(key)) << key;
      }
      EXPECT_LE(p.at("score").get<double>(), previous);
      previous = p.at("score").get<double>();
    }
  }
  EXPECT_TRUE(labels.count("laptop") && labels.count("tv") && labels.count("keyboard")) << res->body;
  for (const json& object : body.at("objects")) {
    const std::string label = object.at("label");
    if (label != "laptop" && label != "tv") continue;  // (the small catalog has no keyboard)
    const std::map<std::string, std::string> expected{{"laptop", "Laptops"}, {"tv", "Televisions"}};
    EXPECT_EQ(object.at("products").at(0).at("category"), expected.at(label)) << object.dump();
  }
}

TEST_F(SearchServerTest, ProductImagesAreServedWithEtags) {
  auto res = search_photo("000000002592.jpg", {{"limit", "1", "", ""}});
  ASSERT_TRUE(res && res->status == 200);
  const std::string url = json::parse(res->body).at("objects").at(0).at("products").at(0).at("image_url");
  auto c = server_->client();
  auto image = c.Get(url.c_str());
  ASSERT_TRUE(image);
  ASSERT_EQ(image->status, 200);
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(image->body.substr(0, 3), "\xFF\xD8\xFF");
  EXPECT_NE(image->get_header_value("Cache-Control").find("max-age"), std::string::npos);
  const std::string etag = image->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  auto again = c.Get(url.c_str(), httplib::Headers{{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  for (const char* missing :
       {"/v1/products/nope/images/0", "/v1/products/demo-cup-001/images/7",
        "/v1/products/demo-cup-001/images/abc", "/v1/products/demo-cup-001/images/..%2F..%2Fcatalog.db"}) {
    auto r = c.Get(missing);
    ASSERT_TRUE(r) << missing;
    EXPECT_EQ(r->status, 404) << missing;
  }
}

TEST_F(SearchServerTest, JsonBodyWithABoxAndFilters) {
  const json request{{"image", base64(read_file(sample("000000002592.jpg")))},
                     {"box", {215, 35, 435, 240}},
                     {"max_price", 20},
                     {"limit", 10},
                     {"min_score", 0}};  // no cup is that cheap: list what passes the filters anyway
  auto c = server_->client();
  auto res = c.Post("/v1/search", request.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  ASSERT_EQ(body.at("objects").size(), 1U);
  const json& object = body.at("objects").at(0);
  EXPECT_EQ(object.at("label"), "cup");
  EXPECT_DOUBLE_EQ(object.at("box").at("x1").get<double>(), 215.0);
  ASSERT_FALSE(object.at("products").empty());
  for (const json& p : object.at("products")) EXPECT_LE(p.at("price").get<double>(), 20.0) << p.dump();

  auto by_category = c.Post("/v1/search?category=Bowls&ranking=visual",
                            httplib::MultipartFormDataItems{
                                {"image", read_file(sample("000000002592.jpg")), "a.jpg", "image/jpeg"}});
  ASSERT_TRUE(by_category && by_category->status == 200);
  const json bowls = json::parse(by_category->body);
  for (const json& o : bowls.at("objects")) {
    for (const json& p : o.at("products")) EXPECT_EQ(p.at("category"), "Bowls");
  }
}

TEST_F(SearchServerTest, BadSearchRequestsGetClearErrors) {
  auto c = server_->client();
  auto not_image = c.Post("/v1/search", "hello, I am text", "application/octet-stream");
  ASSERT_TRUE(not_image);
  EXPECT_EQ(not_image->status, 415);
  EXPECT_EQ(json::parse(not_image->body).at("error").at("code"), "unsupported_format");
  const std::string jpeg = read_file(sample("bus.jpg"));
  for (const auto& [query, status] :
       std::vector<std::pair<std::string, int>>{{"box=1,2,3", 400},
                                                {"limit=0", 400},
                                                {"ranking=best", 400},
                                                {"min_price=x", 400},
                                                {"box=5000,5000,6000,6000", 400},
                                                {"model=nope", 404}}) {
    auto r = c.Post(("/v1/search?" + query).c_str(), jpeg, "image/jpeg");
    ASSERT_TRUE(r) << query;
    EXPECT_EQ(r->status, status) << query << " " << r->body;
    EXPECT_TRUE(json::parse(r->body).at("error").contains("message")) << query;
  }
  auto wrong_method = c.Get("/v1/search");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
}

TEST_F(SearchServerTest, ProductRoutes) {
  const SearchCatalog& catalog = search_catalog();
  auto c = server_->client();
  auto list = c.Get("/v1/products?q=mug&limit=50");
  ASSERT_TRUE(list && list->status == 200);
  const json listed = json::parse(list->body);
  EXPECT_GT(listed.at("total").get<int>(), 0);
  for (const json& p : listed.at("products")) EXPECT_EQ(p.at("category"), "Mugs & Cups") << p.dump();
  std::size_t laptops = 0;
  for (const std::string& id : catalog.ids_a) laptops += catalog.category_of.at(id) == "Laptops" ? 1 : 0;
  auto by_category = c.Get("/v1/products?category=laptops");  // case-insensitive
  ASSERT_TRUE(by_category && by_category->status == 200);
  EXPECT_EQ(json::parse(by_category->body).at("total"), laptops);
  EXPECT_EQ(c.Get("/v1/products?limit=500")->status, 400);

  const std::string id = *catalog.ids_a.begin();
  auto one = c.Get(("/v1/products/" + id).c_str());
  ASSERT_TRUE(one && one->status == 200);
  const json product = json::parse(one->body);
  EXPECT_EQ(product.at("id"), id);
  EXPECT_EQ(product.at("images").size(), 1U);
  EXPECT_EQ(c.Get("/v1/products/no-such-product")->status, 404);

  // Bulk import over HTTP: images travel inline; a server-side path is refused; line numbers come back.
  const std::string crop = read_file(catalog.demo_dir + "/images/" + id + ".jpg");
  const json body{
      {"products",
       {{{"id", "http-1"},
         {"title", "Imported over HTTP"},
         {"category", "Mugs & Cups"},
         {"price", 7},
         {"images", {{{"data", base64(crop)}}}}},
        {{"id", "http-2"}, {"title", "Sneaky"}, {"images", {"/etc/passwd"}}},
        {{"id", "http-3"}, {"title", "Broken image"}, {"images", {{{"data", base64("not an image")}}}}}}}};
  auto imported = c.Post("/v1/products", body.dump(), "application/json");
  ASSERT_TRUE(imported);
  ASSERT_EQ(imported->status, 200) << imported->body;
  const json report = json::parse(imported->body);
  EXPECT_EQ(report.at("inserted"), 1);
  ASSERT_EQ(report.at("errors").size(), 2U);
  EXPECT_EQ(report.at("errors").at(0).at("line"), 2);
  EXPECT_NE(report.at("errors").at(0).at("message").get<std::string>().find("not accepted"),
            std::string::npos);
  EXPECT_EQ(report.at("errors").at(1).at("line"), 3);
  auto strict = c.Post("/v1/products?strict=true", body.dump(), "application/json");
  ASSERT_TRUE(strict);
  EXPECT_EQ(strict->status, 400);
  EXPECT_FALSE(json::parse(strict->body).at("committed").get<bool>());
  EXPECT_EQ(c.Post("/v1/products", "id,title\n", "text/plain")->status, 415);

  auto fetched = c.Get("/v1/products/http-1");
  ASSERT_TRUE(fetched && fetched->status == 200);
  EXPECT_EQ(json::parse(fetched->body).at("title"), "Imported over HTTP");
  EXPECT_EQ(c.Delete("/v1/products/http-1")->status, 200);
  EXPECT_EQ(c.Get("/v1/products/http-1")->status, 404);
  EXPECT_EQ(c.Delete("/v1/products/http-1")->status, 404);

  auto stats = c.Get("/v1/catalog");
  ASSERT_TRUE(stats && stats->status == 200);
  EXPECT_EQ(json::parse(stats->body).at("products"), catalog.ids_a.size());
}

TEST_F(SearchServerTest, StaticFilesAreServedSafely) {
  auto c = server_->client();
  const std::vector<std::tuple<std::string, std::string, std::string>> files{
      {"/", "text/html", "no-cache"},
      {"/index.html", "text/html", "no-cache"},
      {"/app.js", "text/javascript", "max-age"},
      {"/style.css", "text/css", "max-age"},
      {"/favicon.svg", "image/svg+xml", "max-age"}};
  for (const auto& [path, type, cache] : files) {
    auto r = c.Get(path.c_str());
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->get_header_value("Content-Type").rfind(type, 0), 0U)
        << path << " " << r->get_header_value("Content-Type");
    EXPECT_NE(r->get_header_value("Cache-Control").find(cache), std::string::npos) << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    auto head = c.Head(path.c_str());
    ASSERT_TRUE(head) << path;
    EXPECT_EQ(head->status, 200) << path;
    EXPECT_TRUE(head->body.empty()) << path;
    EXPECT_NE(head->get_header_value("Cache-Control").find(cache), std::string::npos) << "HEAD " << path;
    EXPECT_EQ(head->get_header_value("X-Content-Type-Options"), "nosniff") << "HEAD " << path;
  }
  // API answers keep their own caching rules under HEAD.
  auto head_models = c.Head("/v1/models");
  ASSERT_TRUE(head_models);
  EXPECT_EQ(head_models->get_header_value("Cache-Control").find("max-age=3600"), std::string::npos);
  EXPECT_NE(c.Get("/")->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  // Traversal attempts, sent raw so that no client library normalises them.
  for (const std::string target :
       {"/../../../../etc/passwd", "/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/web/../../../etc/passwd", "/....//....//etc/passwd",
        "/%2e%2e%5c%2e%2e%5cetc%5cpasswd", "/../src/search/catalog_store.cpp"}) {
    const std::string response = raw_http(
        server_->port(), "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    ASSERT_FALSE(response.empty()) << target;
    EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), std::string::npos) << target << "\n"
                                                                    << response.substr(0, 200);
    EXPECT_EQ(response.find("root:"), std::string::npos) << target;
    EXPECT_EQ(response.find("CatalogStore"), std::string::npos) << target;
  }
}

// Searches and listings keep answering, each from one consistent catalog state, while another process
// imports batch B (its write transaction slowed down so that it overlaps many requests).
TEST_F(SearchServerTest, SearchesStayCorrectDuringAnImport) {
  const SearchCatalog& catalog = search_catalog();
  const std::size_t before = catalog.ids_a.size();
  const long long generation_before =
      json::parse(server_->client().Get("/v1/catalog")->body).at("generation");
  std::set<std::string> known = catalog.ids_a;
  known.insert(catalog.ids_b.begin(), catalog.ids_b.end());
  std::atomic<bool> done{false};
  std::atomic<int> searches{0};
  std::atomic<int> lists{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  const auto fail = [&](const std::string& what) {
    std::lock_guard lock(failures_mutex);
    failures.push_back(what);
  };
  const std::string photo = read_file(sample("000000002592.jpg"));
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&] {
      auto c = server_->client();
      long long last_generation = 0;
      while (!done.load()) {
        auto r = c.Post("/v1/search?limit=20", photo, "image/jpeg");
        if (!r || r->status != 200) {
          fail("search: " + (r ? std::to_string(r->status) + " " + r->body : std::string("no response")));
          continue;
        }
        const json body = json::parse(r->body);
        const long long generation = body.at("catalog").at("generation");
        if (generation < last_generation) fail("generation went back");
        last_generation = generation;
        for (const json& o : body.at("objects")) {
          for (const json& p : o.at("products")) {
            const std::string id = p.at("id");
            if (generation == generation_before && catalog.ids_a.count(id) == 0) {
              fail("old generation returned new product " + id);
            }
            if (known.count(id) == 0) fail("unknown product " + id);
          }
        }
        ++searches;
      }
    });
  }
  clients.emplace_back([&] {
    auto c = server_->client();
    while (!done.load()) {
      auto r = c.Get("/v1/products?limit=1");
      if (!r || r->status != 200) {
        fail("list failed");
        continue;
      }
      const std::size_t total = json::parse(r->body).at("total");
      if (total != before && total != known.size())
        fail("half-imported catalog: " + std::to_string(total) + " products");
      ++lists;
    }
  });
  std::string out;
  std::string err;
  const int status =
      run_visearch("catalog import " + shell_quote(catalog.batch_b) + " --data-dir " + shell_quote(*data_),
                   &out, &err, "VISEARCH_TEST_UPSERT_ROW_DELAY_MS=60 ");
  // Keep asking a little after the commit, to see the new generation served.
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  done.store(true);
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(status, 0) << err;
  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " failures, first: " << (failures.empty() ? "" : failures.front());
  EXPECT_GT(searches.load(), 4);
  EXPECT_GT(lists.load(), 10);
  auto c = server_->client();
  const json stats = json::parse(c.Get("/v1/catalog")->body);
  EXPECT_EQ(stats.at("products"), known.size());
  auto r = c.Post("/v1/search", photo, "image/jpeg");
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_EQ(json::parse(r->body).at("catalog").at("generation"), stats.at("generation"));
  EXPECT_EQ(json::parse(r->body).at("catalog").at("vectors").get<std::size_t>() > before, true);
}

TEST(SearchServerAccess, TheApiKeyProtectsTheCatalogButNotTheWebPage) {
  const SearchCatalog& catalog = search_catalog();
  const std::string dir = scratch_dir("api_key");
  const std::string key_file = dir + "/key";
  std::ofstream(key_file) << "0123456789abcdef-secret\n";
  ServerProcess server({"--data-dir", copy_catalog(catalog.data_a, "api_key_data"), "--api-key-file",
                        key_file, "--static-dir", std::string(VISEARCH_SOURCE_DIR) + "/web", "--workers",
                        "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  EXPECT_EQ(c.Get("/")->status, 200);
  EXPECT_EQ(c.Get("/app.js")->status, 200);
  const std::string body = R"({"products": []})";
  EXPECT_EQ(c.Post("/v1/products", body, "application/json")->status, 401);
  EXPECT_EQ(c.Delete(("/v1/products/" + *catalog.ids_a.begin()).c_str())->status, 401);
  EXPECT_EQ(c.Post("/v1/search", read_file(sample("bus.jpg")), "image/jpeg")->status, 401);
  const httplib::Headers key{{"Authorization", "Bearer 0123456789abcdef-secret"}};
  EXPECT_EQ(c.Post("/v1/products", key, body, "application/json")->status, 200);
  EXPECT_EQ(c.Delete(("/v1/products/" + *catalog.ids_a.begin()).c_str(), key)->status, 200);
  EXPECT_EQ(c.Get("/v1/catalog", key)->status, 200);
}

// --public-search: shoppers search and read the catalog without the key; writes, detection and metrics
// still need it.
TEST(SearchServerAccess, PublicSearchOpensReadsButNotWrites) {
  const SearchCatalog& catalog = search_catalog();
  const std::string dir = scratch_dir("public_search");
  const std::string key_file = dir + "/key";
  std::ofstream(key_file) << "0123456789abcdef-secret\n";
  ServerProcess server({"--data-dir", copy_catalog(catalog.data_a, "public_search_data"), "--api-key-file",
                        key_file, "--public-search", "--static-dir",
                        std::string(VISEARCH_SOURCE_DIR) + "/web", "--workers", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  const std::string id = *catalog.ids_a.begin();
  auto search = c.Post("/v1/search", read_file(sample("bus.jpg")), "image/jpeg");
  ASSERT_TRUE(search);
  EXPECT_EQ(search->status, 200) << search->body;
  EXPECT_EQ(c.Get("/v1/catalog")->status, 200);
  EXPECT_EQ(c.Get("/v1/products?q=mug")->status, 200);
  EXPECT_EQ(c.Get(("/v1/products/" + id).c_str())->status, 200);
  EXPECT_EQ(c.Get(("/v1/products/" + id + "/images/0").c_str())->status, 200);
  const std::string body = R"({"products": []})";
  EXPECT_EQ(c.Post("/v1/products", body, "application/json")->status, 401);
  EXPECT_EQ(c.Delete(("/v1/products/" + id).c_str())->status, 401);
  EXPECT_EQ(c.Post("/v1/detect", read_file(sample("bus.jpg")), "image/jpeg")->status, 401);
  EXPECT_EQ(c.Get("/metrics")->status, 401);
  EXPECT_EQ(c.Get("/v1/models")->status, 401);
  const httplib::Headers key{{"X-API-Key", "0123456789abcdef-secret"}};
  EXPECT_EQ(c.Delete(("/v1/products/" + id).c_str(), key)->status, 200);
  EXPECT_EQ(c.Get(("/v1/products/" + id).c_str())->status, 404);
}

// The catalog generation an adaptation file was trained for (its JSON header), or -1.
std::int64_t adaptation_generation(const std::string& path) {
  const json header = json::parse(adaptation_header_json(path), nullptr, false);
  return header.is_object() ? header.value("generation", std::int64_t{-1}) : -1;
}

// A copy of the test catalog with a quick adaptation (1 view, 5 epochs, stored whatever its gain).
std::string adapted_catalog_copy(const std::string& name) {
  const std::string data = copy_catalog(search_catalog().data_a, name);
  std::string out;
  std::string err;
  EXPECT_EQ(
      run_visearch("catalog adapt --format json --views 1 --epochs 5 --force --data-dir " + shell_quote(data),
                   &out, &err),
      0)
      << err;
  return data;
}

// An adapted catalog changed over HTTP: the adaptation is stale at once (searches leave the adapted space,
// never use a projection of other products) and the server rebuilds it in the background with the settings
// it was made with; searches are adapted again when it is written.
TEST(SearchServerAdaptation, AnImportOverHttpRebuildsAStaleAdaptationInTheBackground) {
  const SearchCatalog& catalog = search_catalog();
  const std::string data = adapted_catalog_copy("adapt_http_data");
  ASSERT_FALSE(::testing::Test::HasFailure());
  ServerProcess server({"--data-dir", data, "--workers", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  c.set_read_timeout(60, 0);
  const std::string photo = read_file(sample("000000002592.jpg"));
  const auto adapted = [&]() {
    auto r = c.Post("/v1/search", photo, "image/jpeg");
    EXPECT_TRUE(r && r->status == 200) << server.log();
    return r && r->status == 200 && json::parse(r->body).at("catalog").at("adapted").get<bool>();
  };
  ASSERT_TRUE(adapted());

  const std::string id = *catalog.ids_a.begin();
  const json body{
      {"products",
       {{{"id", "adapt-http-1"},
         {"title", "Imported over HTTP"},
         {"category", catalog.category_of.at(id)},
         {"images", {{{"data", base64(read_file(catalog.demo_dir + "/images/" + id + ".jpg"))}}}}}}}};
  auto imported = c.Post("/v1/products", body.dump(), "application/json");
  ASSERT_TRUE(imported && imported->status == 200) << (imported ? imported->body : server.log());
  const auto generation = json::parse(imported->body).at("generation").get<std::int64_t>();

  bool rebuilt = false;
  for (int i = 0; i < 240 && !rebuilt; ++i) {
    rebuilt = server.log().find("adaptation_rebuilt") != std::string::npos;
    if (!rebuilt) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(rebuilt) << server.log();
  // The server answers from its previous index while it builds the adapted one (as for a new generation).
  bool again = false;
  for (int i = 0; i < 120 && !again; ++i) {
    again = adapted();
    if (!again) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(again) << server.log();
  const json header = json::parse(adaptation_header_json(data + "/adaptation.bin"));
  EXPECT_EQ(header.at("generation").get<std::int64_t>(), generation);
  EXPECT_EQ(header.at("report").at("settings").at("views"), 1);
}

// Another process changes the catalog (an import that skips the adaptation): the server notices the new
// generation on its next search and rebuilds the stale adaptation in the background.
TEST(SearchServerAdaptation, AnImportByAnotherProcessIsNoticedByTheNextSearch) {
  const SearchCatalog& catalog = search_catalog();
  const std::string data = adapted_catalog_copy("adapt_other_process");
  ASSERT_FALSE(::testing::Test::HasFailure());
  std::string out;
  std::string err;
  const std::int64_t before = adaptation_generation(data + "/adaptation.bin");
  ServerProcess server({"--data-dir", data, "--workers", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  c.set_read_timeout(60, 0);
  const std::string photo = read_file(sample("000000002592.jpg"));
  auto first = c.Post("/v1/search", photo, "image/jpeg");
  ASSERT_TRUE(first && first->status == 200) << server.log();
  EXPECT_TRUE(json::parse(first->body).at("catalog").at("adapted").get<bool>());

  const std::string id = *catalog.ids_a.begin();
  const std::string products = scratch_dir("adapt_other_process_import") + "/products.jsonl";
  {
    std::ofstream file(products);
    file << json{{"id", "other-process-1"},
                 {"title", "Imported by another process"},
                 {"category", catalog.category_of.at(id)},
                 {"images", {catalog.demo_dir + "/images/" + id + ".jpg"}}}
                .dump()
         << "\n";
  }
  ASSERT_EQ(
      run_visearch("catalog import " + shell_quote(products) + " --no-adapt --data-dir " + shell_quote(data),
                   &out, &err),
      0)
      << err;
  EXPECT_EQ(adaptation_generation(data + "/adaptation.bin"), before) << "--no-adapt left it stale";
  EXPECT_EQ(server.log().find("adaptation_rebuilt"), std::string::npos);

  // The next searches see the new generation; the server rebuilds the adaptation for it.
  bool rebuilt = false;
  for (int i = 0; i < 240 && !rebuilt; ++i) {
    auto r = c.Post("/v1/search", photo, "image/jpeg");
    ASSERT_TRUE(r && r->status == 200) << server.log();
    rebuilt = adaptation_generation(data + "/adaptation.bin") > before &&
              server.log().find("adaptation_rebuilt") != std::string::npos;
    if (!rebuilt) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(rebuilt) << server.log();
}

// A product id that is not UTF-8 once percent-decoded gets a JSON error, and the server lives on.
TEST(SearchServerAccess, NonUtf8ProductIdsGetAnErrorNotACrash) {
  const SearchCatalog& catalog = search_catalog();
  ServerProcess server({"--data-dir", copy_catalog(catalog.data_a, "non_utf8_data"), "--workers", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  auto binary_id = c.Get("/v1/products/%FF%FEx");
  ASSERT_TRUE(binary_id) << server.log();
  EXPECT_EQ(binary_id->status, 404);
  EXPECT_FALSE(json::parse(binary_id->body, nullptr, false).is_discarded()) << binary_id->body;
  auto ping = c.Get("/ping");
  ASSERT_TRUE(ping) << "the server died: " << server.log();
  EXPECT_EQ(ping->status, 200);
}

TEST(SearchServerAccess, SearchIsOffWithoutACatalogButDetectionWorks) {
  ServerProcess server({"--workers", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  auto res = c.Post("/v1/search", read_file(sample("bus.jpg")), "image/jpeg");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(json::parse(res->body).at("error").at("message").get<std::string>().find("--data-dir"),
            std::string::npos);
  EXPECT_EQ(c.Get("/v1/products")->status, 503);
  EXPECT_EQ(c.Post("/v1/detect", read_file(sample("bus.jpg")), "image/jpeg")->status, 200);
}

}  // namespace
}  // namespace visearch::testing
