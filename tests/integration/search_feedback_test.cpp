// Shopper feedback end to end on the real `visearch serve` (loopback, a real SQLite catalog): a search, the
// page's "shown" and "open" events, then `visearch search-eval --feedback` on the log the server wrote gives
// the metrics worked out by hand; a torn last line is skipped; bad bodies are 400; switched off, the server
// writes nothing and the route answers 404. `search-eval --tune` on the same log is deterministic and
// writes a mapping that loads with its labels.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../golden/cli_runner.h"
#include "search_fixture.h"
#include "server_fixture.h"

namespace visearch::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

httplib::Result search_photo(const ServerProcess& server, const std::string& name) {
  auto c = server.client();
  httplib::MultipartFormDataItems items{{"image", read_file(sample(name)), name, "image/jpeg"},
                                        {"limit", "5", "", ""}};
  return c.Post("/v1/search", items);
}

httplib::Result post_feedback(const ServerProcess& server, const json& body) {
  auto c = server.client();
  return c.Post("/v1/search/feedback", body.dump(), "application/json");
}

TEST(SearchFeedback, LoggedSearchAndOpenScoreAsComputedByHand) {
  const std::string data = copy_catalog(search_catalog().data_a, "feedback_on");
  ServerProcess server({"--data-dir", data, "--workers", "1"});
  ASSERT_TRUE(server.ready()) << server.log();

  auto res = search_photo(server, "000000001503.jpg");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json answer = json::parse(res->body);
  const std::string request_id = answer.at("request_id");
  // The first object with at least two products: the shopper opens the second.
  int object = -1;
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < answer.at("objects").size() && object < 0; ++i) {
    const json& products = answer.at("objects").at(i).at("products");
    if (products.size() < 2) continue;
    object = static_cast<int>(i);
    for (const json& p : products) shown.push_back(p.at("id"));
  }
  ASSERT_GE(object, 0) << res->body;
  const std::string log_dir = data + "/feedback";
  ASSERT_TRUE(fs::exists(log_dir + "/feedback.jsonl"));
  EXPECT_EQ(slurp(log_dir + "/feedback.jsonl").find("\"photo\""), std::string::npos);

  json objects = json::array();
  for (std::size_t i = 0; i < answer.at("objects").size(); ++i) {
    const json& o = answer.at("objects").at(i);
    json ids = json::array();
    for (const json& p : o.at("products")) ids.push_back(p.at("id"));
    objects.push_back({{"object", i},
                       {"label", o.at("label")},
                       {"box", {o["box"]["x1"], o["box"]["y1"], o["box"]["x2"], o["box"]["y2"]}},
                       {"products", ids}});
  }
  auto shown_res =
      post_feedback(server, {{"event", "shown"}, {"request_id", request_id}, {"objects", objects}});
  ASSERT_TRUE(shown_res);
  ASSERT_EQ(shown_res->status, 200) << shown_res->body;
  auto open_res = post_feedback(server, {{"event", "open"},
                                         {"request_id", request_id},
                                         {"object", object},
                                         {"product", shown[1]},
                                         {"rank", 2}});
  ASSERT_TRUE(open_res);
  ASSERT_EQ(open_res->status, 200) << open_res->body;
  EXPECT_EQ(json::parse(open_res->body).at("logged"), "open");

  // Bad bodies: 400 (or 415 / 413), nothing logged.
  const std::uintmax_t size_before = fs::file_size(log_dir + "/feedback.jsonl");
  for (const std::string& body :
       {std::string("{"), std::string("[]"), std::string(R"({"event": "open", "request_id": "x"})"),
        std::string(R"({"event": "open", "request_id": "x", "object": 0, "product": "p", "ua": "curl"})"),
        std::string(R"({"event": "shown", "request_id": "x", "objects": [{"object": 0, "products": "p"}]})"),
        std::string(R"({"event": "open", "request_id": "x y", "object": 0, "product": "p"})")}) {
    auto c = server.client();
    auto bad = c.Post("/v1/search/feedback", body, "application/json");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400) << body << " -> " << bad->body;
    EXPECT_EQ(json::parse(bad->body).at("error").at("code"), "invalid_argument") << bad->body;
  }
  {
    auto c = server.client();
    auto wrong_type = c.Post("/v1/search/feedback", R"({"event": "open"})", "text/plain");
    ASSERT_TRUE(wrong_type);
    EXPECT_EQ(wrong_type->status, 415);
    auto huge = c.Post("/v1/search/feedback",
                       R"({"event": "open", "request_id": "x", "object": 0, "product": ")" +
                           std::string(300 * 1024, 'p') + "\"}",
                       "application/json");
    ASSERT_TRUE(huge);
    EXPECT_EQ(huge->status, 413);
  }
  EXPECT_EQ(fs::file_size(log_dir + "/feedback.jsonl"), size_before);

  // Replayed through the same catalog and weights, the object ranks as it was shown: the opened product is
  // second. P@5 = 1/5, R@5 = 1/1, nDCG@5 = (1/log2(3)) / 1, MRR = 1/2.
  const auto check = [&](const json& metrics, const std::string& what) {
    EXPECT_NEAR(metrics.at("precision").at("5").get<double>(), 0.2, 1e-9) << what;
    EXPECT_NEAR(metrics.at("recall").at("5").get<double>(), 1.0, 1e-9) << what;
    EXPECT_NEAR(metrics.at("ndcg").at("5").get<double>(), 1.0 / std::log2(3.0), 1e-9) << what;
    EXPECT_NEAR(metrics.at("mrr").get<double>(), 0.5, 1e-9) << what;
    EXPECT_EQ(metrics.at("scored"), 1) << what;
  };
  std::string out;
  std::string err;
  const std::string eval = "search-eval --format json --k 5 --ranking fused --feedback " +
                           shell_quote(log_dir) + " --data-dir " + shell_quote(data);
  ASSERT_EQ(run_visearch(eval, &out, &err), 0) << err;
  json report = json::parse(out);
  check(report.at("rankings").at("fused"), "fused");
  check(report.at("rankings").at("as_shown"), "as shown");
  EXPECT_EQ(report.at("feedback").at("searches"), 1);
  EXPECT_EQ(report.at("feedback").at("judged"), 1);
  EXPECT_EQ(report.at("feedback").at("skipped_without_open"), answer.at("objects").size() - 1);
  EXPECT_EQ(report.at("feedback").at("bad_lines"), 0);
  EXPECT_EQ(report.at("rankings").at("fused").at("per_query").at(0).at("id"),
            request_id + "#" + std::to_string(object));

  // A crash mid-line: the torn last line is skipped and counted, the figures stay.
  {
    std::ofstream f(log_dir + "/feedback.jsonl", std::ios::binary | std::ios::app);
    f << R"({"v":1,"event":"open","request_id":")" << request_id << R"(","object":0,"prod)";
  }
  ASSERT_EQ(run_visearch(eval, &out, &err), 0) << err;
  report = json::parse(out);
  check(report.at("rankings").at("fused"), "fused after a torn line");
  EXPECT_EQ(report.at("feedback").at("bad_lines"), 1);

  // --tune on the same log: the same output and mapping twice; the mapping loads and keeps the labels.
  const std::string tune_dir = scratch_dir("feedback_tune");
  std::string out_a;
  std::string out_b;
  ASSERT_EQ(run_visearch(eval + " --tune --objective mrr --tune-out " + shell_quote(tune_dir + "/a.json"),
                         &out_a, &err),
            0)
      << err;
  ASSERT_EQ(run_visearch(eval + " --tune --objective mrr --tune-out " + shell_quote(tune_dir + "/b.json"),
                         &out_b, &err),
            0)
      << err;
  json tune_a = json::parse(out_a).at("tune");
  json tune_b = json::parse(out_b).at("tune");
  tune_a.erase("mapping");
  tune_b.erase("mapping");
  EXPECT_EQ(tune_a, tune_b);
  EXPECT_EQ(slurp(tune_dir + "/a.json"), slurp(tune_dir + "/b.json"));
  EXPECT_GE(tune_a.at("after").at("objective").get<double>(),
            tune_a.at("before").at("objective").get<double>());
  const json shipped =
      json::parse(slurp(std::string(VISEARCH_SOURCE_DIR) + "/data/search/label_mapping.json"));
  const json tuned = json::parse(slurp(tune_dir + "/a.json"));
  EXPECT_EQ(tuned.at("labels"), shipped.at("labels"));
  EXPECT_EQ(tuned.at("min_score"), shipped.at("min_score"));
  EXPECT_EQ(tuned.at("weights"), tune_a.at("after").at("weights"));
  // The tuned file is a mapping search runs with.
  ASSERT_EQ(run_visearch(eval + " --mapping " + shell_quote(tune_dir + "/a.json"), &out, &err), 0) << err;
  EXPECT_NEAR(json::parse(out).at("rankings").at("fused").at("mrr").get<double>(),
              tune_a.at("after").at("metrics").at("mrr").get<double>(), 1e-9);
}

TEST(SearchFeedback, SwitchedOffWritesNothingAndTheRouteSaysSo) {
  const std::string data = copy_catalog(search_catalog().data_a, "feedback_off");
  ServerProcess server({"--data-dir", data, "--workers", "1", "--feedback-log", "off"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto res = search_photo(server, "000000001503.jpg");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const std::string request_id = json::parse(res->body).at("request_id");
  auto fb =
      post_feedback(server, {{"event", "open"}, {"request_id", request_id}, {"object", 0}, {"product", "p"}});
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->status, 404) << fb->body;
  EXPECT_NE(json::parse(fb->body).at("error").at("message").get<std::string>().find("off"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(data + "/feedback"));
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    EXPECT_EQ(entry.path().filename().string().find("feedback"), std::string::npos) << entry.path();
  }
}

// A log folder that cannot be written does not take search down: the log is off and says why.
TEST(SearchFeedback, UnwritableFolderLeavesSearchUpAndTheLogOff) {
  const std::string data = copy_catalog(search_catalog().data_a, "feedback_unwritable");
  const std::string file = scratch_dir("feedback_unwritable") + "/a-file";
  std::ofstream(file) << "not a folder";
  ServerProcess server({"--data-dir", data, "--workers", "1", "--feedback-dir", file + "/feedback"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto res = search_photo(server, "000000001503.jpg");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  auto fb = post_feedback(server, {{"event", "open"}, {"request_id", "r1"}, {"object", 0}, {"product", "p"}});
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->status, 404) << fb->body;
  EXPECT_NE(fb->body.find("cannot be written"), std::string::npos) << fb->body;
  EXPECT_NE(server.log().find("\"off_reason\""), std::string::npos);
  EXPECT_FALSE(fs::exists(data + "/feedback"));
}

TEST(SearchFeedback, UsageErrors) {
  const std::string data = search_catalog().data_a;
  const std::string dir = scratch_dir("feedback_usage");
  std::string out;
  std::string err;
  const auto eval = [&](const std::string& args) {
    return run_visearch("search-eval --data-dir " + shell_quote(data) + " " + args, &out, &err);
  };
  EXPECT_EQ(eval(""), 2);
  EXPECT_NE(err.find("--queries"), std::string::npos) << err;
  EXPECT_EQ(eval("--feedback " + shell_quote(dir) + " --queries x.jsonl"), 2);
  EXPECT_EQ(eval("--feedback " + shell_quote(dir)), 1) << err;  // no feedback*.jsonl: not found
  EXPECT_NE(err.find("no feedback"), std::string::npos) << err;
  {
    std::ofstream f(dir + "/feedback.jsonl");
    f << "{\"v\":1,\"event\":\"open\",\"request_id\":\"r\",\"object\":0,\"product\":\"p\"}\n";
  }
  EXPECT_EQ(eval("--feedback " + shell_quote(dir)), 2);  // nothing to judge by
  EXPECT_NE(err.find("no search with an opened product"), std::string::npos) << err;
  EXPECT_EQ(eval("--feedback " + shell_quote(dir) + " --tune-out t.json"), 2);
  EXPECT_NE(err.find("need --tune"), std::string::npos) << err;
  EXPECT_EQ(eval("--feedback " + shell_quote(dir) + " --tune --objective f1@5"), 2);
  EXPECT_NE(err.find("--objective"), std::string::npos) << err;
}

}  // namespace
}  // namespace visearch::testing
