// The OpenSearch catalog on a real 3-node OpenSearch 2.x cluster on loopback (tools/opensearch-cluster.sh,
// built by tools/install-deps.sh): a SQLite catalog migrated with its vectors gives the same catalog and the
// same ranking; deletes and upserts by id; a generation switch under concurrent searches (no error, no mixed
// answer); a node killed during a search load (every search answered); the whole cluster down (503, not
// ready, /ping up) and back (recovers by itself); two replicas behind nginx sharing the catalog; a wrong
// prefix refused at start.
// One cluster serves every test of this process (ctest runs the binary once, see CMakeLists.txt).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "../golden/cli_runner.h"
#include "search_fixture.h"
#include "server_fixture.h"

namespace visearch::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* kPhotos[] = {"000000001503.jpg", "000000002592.jpg", "000000000139.jpg", "bus.jpg"};

std::string cluster_script() {
  return std::string(VISEARCH_SOURCE_DIR) + "/tools/opensearch-cluster.sh";
}

// Runs a shell command; returns its exit status (-1 when it did not exit normally) and its output.
int run_shell(const std::string& cmd, std::string* out = nullptr) {
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) text.append(buffer, n);
  const int status = ::pclose(pipe);
  if (out != nullptr) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs the cluster script with this process's state folder; returns its exit status and output.
int cluster(const std::string& args, std::string* out = nullptr) {
  static const std::string state = scratch_dir("opensearch-state");
  return run_shell("VISEARCH_OPENSEARCH_DIR=" + shell_quote(state) +
                       " VISEARCH_OPENSEARCH_OWNER_PID=" + std::to_string(::getpid()) + " " +
                       shell_quote(cluster_script()) + " " + args + " 2>&1",
                   out);
}

class OpenSearchCatalogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string out;
    const int started = cluster("start 3", &out);
    ASSERT_EQ(started, 0) << out;
    // Every node URL is printed; the catalog names them all so requests fail over between them.
    std::istringstream lines(out);
    std::string line;
    std::vector<std::string> hosts;
    while (std::getline(lines, line)) {
      const auto at = line.find("http://127.0.0.1:");
      if (at == std::string::npos) continue;
      const std::string host = line.substr(at + 7, line.find_first_of(" \t/", at + 7) - (at + 7));
      if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
    }
    ASSERT_GE(hosts.size(), 3U) << out;
    std::string joined;
    for (const std::string& h : hosts) joined += (joined.empty() ? "" : ",") + h;
    uri_ = new std::string("opensearch+http://" + joined + "/vs-test");
    sqlite_ = new std::string(copy_catalog(search_catalog().data_a, "os_sqlite"));
    std::string err;
    ASSERT_EQ(run_visearch("catalog migrate --data-dir " + shell_quote(*sqlite_) + " --to " +
                               shell_quote(*uri_) + " --format json",
                           &out, &err),
              0)
        << out << err;
  }
  static void TearDownTestSuite() {
    cluster("stop");
    delete uri_;
    delete sqlite_;
  }
  static json cli_json(const std::string& args) {
    std::string out;
    std::string err;
    const int status = run_visearch(args + " --format json", &out, &err);
    EXPECT_EQ(status, 0) << args << "\n" << err;
    return json::parse(out, nullptr, false);
  }
  static std::string uri() { return *uri_; }
  static std::string* uri_;
  static std::string* sqlite_;
};
std::string* OpenSearchCatalogTest::uri_ = nullptr;
std::string* OpenSearchCatalogTest::sqlite_ = nullptr;

// Top product ids of every object of a `visearch search --format json` answer.
std::vector<std::vector<std::string>> top_ids(const json& answer) {
  std::vector<std::vector<std::string>> out;
  for (const json& o : answer.at("objects")) {
    std::vector<std::string> ids;
    for (const json& p : o.at("products")) ids.push_back(p.at("id"));
    out.push_back(ids);
  }
  return out;
}

TEST_F(OpenSearchCatalogTest, MigratedCatalogHasTheSameProductsAndRanksTheSame) {
  const json a = cli_json("catalog stats --data-dir " + shell_quote(*sqlite_));
  const json b = cli_json("catalog stats --catalog " + shell_quote(uri()));
  for (const char* key : {"products", "images", "vectors", "categories", "embedder", "dimension"}) {
    EXPECT_EQ(a.at(key), b.at(key)) << key;
  }
  EXPECT_GT(b.at("products").get<int>(), 10);
  const json list_a = cli_json("catalog list --limit 5 -q cup --data-dir " + shell_quote(*sqlite_));
  const json list_b = cli_json("catalog list --limit 5 -q cup --catalog " + shell_quote(uri()));
  EXPECT_EQ(list_a.at("total"), list_b.at("total"));
  // Listing without words: the same products in the same order (title, then id).
  const json all_a = cli_json("catalog list --limit 50 --data-dir " + shell_quote(*sqlite_));
  const json all_b = cli_json("catalog list --limit 50 --catalog " + shell_quote(uri()));
  ASSERT_EQ(all_a.at("products").size(), all_b.at("products").size());
  for (std::size_t i = 0; i < all_a.at("products").size(); ++i) {
    EXPECT_EQ(all_a.at("products")[i].at("id"), all_b.at("products")[i].at("id")) << i;
  }
  // And back: the OpenSearch catalog migrated into a new SQLite folder is the catalog it came from.
  const std::string back = scratch_dir("os_back");
  std::string out;
  std::string err;
  ASSERT_EQ(
      run_visearch("catalog migrate --from " + shell_quote(uri()) + " --to " + shell_quote("sqlite:" + back),
                   &out, &err),
      0)
      << err;
  const json c = cli_json("catalog stats --data-dir " + shell_quote(back));
  for (const char* key :
       {"products", "images", "vectors", "categories", "embedder", "dimension", "detector"}) {
    EXPECT_EQ(a.at(key), c.at(key)) << key;
  }
  const std::string visual = "search --limit 5 --ranking visual " + shell_quote(sample(kPhotos[1]));
  EXPECT_EQ(top_ids(cli_json(visual + " --data-dir " + shell_quote(*sqlite_))),
            top_ids(cli_json(visual + " --data-dir " + shell_quote(back))));
  // Facet counts come back with a search answer on both engines, filters applied.
  const std::string filtered = "search --limit 3 --max-price 60 " + shell_quote(sample(kPhotos[0]));
  const json facets_a = cli_json(filtered + " --data-dir " + shell_quote(*sqlite_)).at("facets");
  const json facets_b = cli_json(filtered + " --catalog " + shell_quote(uri())).at("facets");
  EXPECT_EQ(facets_a, facets_b);
  EXPECT_FALSE(facets_a.at("category").empty());
  int counted = 0;
  for (const auto& [name, n] : facets_a.at("category").items()) counted += n.get<int>();
  EXPECT_LT(counted, a.at("products").get<int>()) << "the price filter should leave some products out";

  int objects = 0;
  int same_top1 = 0;
  int coloured = 0;
  double overlap = 0;
  for (const char* ranking : {"fused", "visual", "label"}) {
    for (const char* photo : kPhotos) {
      const std::string args =
          std::string("search --limit 5 --ranking ") + ranking + " " + shell_quote(sample(photo));
      const json answer_sqlite = cli_json(args + " --data-dir " + shell_quote(*sqlite_));
      const json answer_opensearch = cli_json(args + " --catalog " + shell_quote(uri()));
      const auto on_sqlite = top_ids(answer_sqlite);
      const auto on_opensearch = top_ids(answer_opensearch);
      ASSERT_EQ(on_sqlite.size(), on_opensearch.size()) << photo;
      for (std::size_t i = 0; i < on_sqlite.size(); ++i) {
        if (on_sqlite[i].empty() && on_opensearch[i].empty()) continue;
        ++objects;
        if (!on_sqlite[i].empty() && !on_opensearch[i].empty() && on_sqlite[i][0] == on_opensearch[i][0]) {
          ++same_top1;
          // The colour part comes from the colours each engine stored for the product (migrated with it).
          const json& a_parts = answer_sqlite.at("objects")[i].at("products")[0].at("components");
          const json& b_parts = answer_opensearch.at("objects")[i].at("products")[0].at("components");
          EXPECT_NEAR(a_parts.at("colour").get<double>(), b_parts.at("colour").get<double>(), 1e-3)
              << photo << " object " << i;
          if (std::string(ranking) == "fused" && a_parts.at("colour").get<double>() > 0) ++coloured;
        }
        const std::set<std::string> s(on_sqlite[i].begin(), on_sqlite[i].end());
        int common = 0;
        for (const std::string& id : on_opensearch[i]) common += static_cast<int>(s.count(id));
        overlap += static_cast<double>(common) /
                   static_cast<double>(std::max(on_sqlite[i].size(), on_opensearch[i].size()));
      }
    }
  }
  ASSERT_GT(objects, 5);
  EXPECT_GT(coloured, 0) << "no fused answer used colour";
  EXPECT_GE(overlap / objects, 0.8) << "mean top-5 overlap";
  EXPECT_GE(static_cast<double>(same_top1) / objects, 0.8) << same_top1 << " of " << objects;
}

TEST_F(OpenSearchCatalogTest, DeletesAndUpsertsByIdAsOnSqlite) {
  const std::string os = " --catalog " + shell_quote(uri());
  const std::string id = *search_catalog().ids_a.begin();
  const json before = cli_json("catalog stats" + os);
  const json deleted = cli_json("catalog delete " + shell_quote(id) + os);
  EXPECT_EQ(deleted.at("deleted"), json::array({id}));
  const json after = cli_json("catalog stats" + os);
  EXPECT_EQ(after.at("products").get<int>(), before.at("products").get<int>() - 1);
  EXPECT_EQ(after.at("generation").get<int>(), before.at("generation").get<int>() + 1);
  std::string out;
  std::string err;
  EXPECT_NE(run_visearch("catalog delete " + shell_quote(id) + os, &out, &err), 0)
      << "second delete: " << out;
  EXPECT_NE(err.find("no product with id"), std::string::npos) << err;
  // Import the whole batch A again: the deleted product comes back, the others are updated in place.
  const json imported = cli_json("catalog import " + shell_quote(search_catalog().batch_a) + os);
  EXPECT_EQ(imported.at("inserted"), 1);
  EXPECT_EQ(imported.at("updated").get<int>(), before.at("products").get<int>() - 1);
  EXPECT_EQ(cli_json("catalog stats" + os).at("products"), before.at("products"));
}

TEST_F(OpenSearchCatalogTest, GenerationSwitchUnderConcurrentSearchesNeverMixes) {
  const std::string catalog = uri();
  // A separate prefix so the other tests' catalog is untouched.
  const std::string own = catalog.substr(0, catalog.rfind('/')) + "/vs-switch";
  std::string out;
  std::string err;
  ASSERT_EQ(run_visearch("catalog migrate --data-dir " + shell_quote(*sqlite_) + " --to " + shell_quote(own),
                         &out, &err),
            0)
      << err;
  ServerProcess server({"--catalog", own, "--workers", "2", "--queue-size", "64"});
  ASSERT_TRUE(server.ready()) << server.log();
  const std::set<std::string>& batch_b = search_catalog().ids_b;
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::atomic<int> failures{0};
  std::atomic<int> mixed{0};
  std::mutex mutex;
  std::set<long long> generations;
  const std::string photo = read_file(sample("000000002592.jpg"));
  auto load = [&] {
    auto c = server.client();
    c.set_read_timeout(60, 0);
    while (!stop.load()) {
      auto res = c.Post("/v1/search?limit=20&ranking=visual&min_score=0",
                        httplib::MultipartFormDataItems{{"image", photo, "p.jpg", "image/jpeg"}});
      if (!res || res->status != 200) {
        ++failures;
        continue;
      }
      const json body = json::parse(res->body);
      const long long generation = body.at("catalog").at("generation");
      bool has_b = false;
      for (const json& o : body.at("objects")) {
        for (const json& p : o.at("products"))
          has_b = has_b || batch_b.count(p.at("id").get<std::string>()) != 0;
      }
      // Batch B exists only from the generation its import made: seeing it earlier would be a mixed answer.
      if (has_b && generation < 2) ++mixed;
      std::lock_guard lock(mutex);
      generations.insert(generation);
      ++answered;
    }
  };
  std::thread t1(load);
  std::thread t2(load);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const int imported = run_visearch(
      "catalog import " + shell_quote(search_catalog().batch_b) + " --catalog " + shell_quote(own), &out,
      &err);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stop = true;
  t1.join();
  t2.join();
  EXPECT_EQ(imported, 0) << err;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_GT(answered.load(), 4);
  EXPECT_TRUE(generations.count(1) && generations.count(2)) << "saw " << generations.size() << " generations";
}

TEST_F(OpenSearchCatalogTest, ANodeKilledDuringSearchLoadLosesNoSearch) {
  ServerProcess server({"--catalog", uri(), "--workers", "2", "--queue-size", "64"});
  ASSERT_TRUE(server.ready()) << server.log();
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::string last_error;
  std::mutex mutex;
  const std::string photo = read_file(sample("000000001503.jpg"));
  auto load = [&] {
    auto c = server.client();
    c.set_read_timeout(60, 0);
    while (!stop.load()) {
      bool ok = false;
      for (int attempt = 0; attempt < 2 && !ok; ++attempt) {  // at most one retry
        auto res = c.Post("/v1/search?limit=5",
                          httplib::MultipartFormDataItems{{"image", photo, "p.jpg", "image/jpeg"}});
        ok = res && res->status == 200;
        if (!ok) {
          std::lock_guard lock(mutex);
          last_error = res ? res->body : "no answer";
        }
      }
      ++(ok ? answered : failed);
    }
  };
  std::thread t1(load);
  std::thread t2(load);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::string out;
  EXPECT_EQ(cluster("stop-node 1", &out), 0) << out;
  std::this_thread::sleep_for(std::chrono::seconds(12));
  EXPECT_EQ(cluster("start-node 1", &out), 0) << out;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stop = true;
  t1.join();
  t2.join();
  EXPECT_EQ(failed.load(), 0) << last_error;
  EXPECT_GT(answered.load(), 10);
  EXPECT_EQ(cluster("wait green 3 120", &out), 0) << out;
}

TEST_F(OpenSearchCatalogTest, ClusterDownAnswers503AndNotReadyThenRecovers) {
  ServerProcess server({"--catalog", uri(), "--workers", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  c.set_read_timeout(60, 0);
  const std::string photo = read_file(sample("000000001503.jpg"));
  const auto search = [&] {
    return c.Post("/v1/search?limit=3",
                  httplib::MultipartFormDataItems{{"image", photo, "p.jpg", "image/jpeg"}});
  };
  ASSERT_EQ(search()->status, 200);
  std::string out;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(cluster("stop-node " + std::to_string(i), &out), 0) << out;
  auto down = search();
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503) << down->body;
  EXPECT_NE(json::parse(down->body).at("error").at("message").get<std::string>().find("OpenSearch"),
            std::string::npos)
      << down->body;
  auto ready = c.Get("/v2/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503) << ready->body;
  auto ping = c.Get("/ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200);
  // All three back at once (one alone has no quorum).
  std::thread n0([&] { cluster("start-node 0"); });
  std::thread n1([&] { cluster("start-node 1"); });
  std::thread n2([&] { cluster("start-node 2"); });
  n0.join();
  n1.join();
  n2.join();
  ASSERT_EQ(cluster("wait yellow 3 180", &out), 0) << out;
  int status = 0;
  for (const auto until = Clock::now() + std::chrono::seconds(120); Clock::now() < until;) {
    auto res = search();
    status = res ? res->status : 0;
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(status, 200) << "the server did not recover by itself";
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  cluster("wait green 3 120");
}

#if VISEARCH_WITH_REPLICAS
// The replicas test (tests/replicas/replicas_test.sh, nginx with deploy/nginx/visearch.conf) on this
// cluster: two replicas share the OpenSearch catalog under a search load, one is killed and one stopped,
// and no request may fail; a product imported through nginx is read from both. Optimised builds only, like
// the replicas test itself.
TEST_F(OpenSearchCatalogTest, ReplicasBehindNginxShareTheCatalogAndLoseNoSearch) {
  const std::string catalog = uri();
  const std::string own = catalog.substr(0, catalog.rfind('/')) + "/vs-replicas";
  std::string out;
  std::string err;
  ASSERT_EQ(run_visearch("catalog migrate --data-dir " + shell_quote(*sqlite_) + " --to " + shell_quote(own),
                         &out, &err),
            0)
      << err;
  const std::string cmd = "VISEARCH_REPLICAS_CATALOG=" + shell_quote(own) + " bash " +
                          shell_quote(std::string(VISEARCH_SOURCE_DIR) + "/tests/replicas/replicas_test.sh") +
                          " " + shell_quote(VISEARCH_BINARY) + " " + shell_quote(VISEARCH_SOURCE_DIR) + " " +
                          shell_quote(VISEARCH_SHARED_DIR) + " 2>&1";
  std::string text;
  EXPECT_EQ(run_shell(cmd, &text), 0) << text;
  EXPECT_NE(text.find("POST /v1/search"), std::string::npos) << text;
}
#endif

TEST_F(OpenSearchCatalogTest, AMissingCatalogOrBadUriIsAClearErrorAtStart) {
  const std::string catalog = uri();
  const std::string missing = catalog.substr(0, catalog.rfind('/')) + "/no-such-shop";
  ServerProcess server({"--catalog", missing}, ServerProcess::Wait::kListening);
  for (int i = 0; i < 200 && server.early_exit() < 0 && server.log().find("no catalog") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(server.log().find("no catalog 'no-such-shop'"), std::string::npos) << server.log();
  std::string out;
  std::string err;
  EXPECT_NE(run_visearch("catalog stats --catalog 'opensearch+http://user:pw@127.0.0.1:9200/x'", &out, &err),
            0);
  EXPECT_NE(err.find("credentials in the URI"), std::string::npos) << err;
  EXPECT_NE(run_visearch("catalog stats --catalog 'opensearch+http://127.0.0.1:9200/Bad'", &out, &err), 0);
  EXPECT_NE(err.find("index prefix"), std::string::npos) << err;
}

}  // namespace
}  // namespace visearch::testing
