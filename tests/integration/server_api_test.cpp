// Every endpoint of `visearch serve`, the same detections as the CLI, parallel
// clients, metrics.
#include <gtest/gtest.h>

#include <thread>

#include "../golden/cli_runner.h"
#include "server_fixture.h"

namespace visearch::testing {
namespace {

using nlohmann::json;

class ServerApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--models", "picodet_s_416,fastestdet", "--workers", "2",
                                 "--threads-per-worker", "1", "--solo-threads", "2", "--queue-size", "32"});
    ASSERT_TRUE(server_->ready()) << server_->log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static ServerProcess* server_;
};
ServerProcess* ServerApiTest::server_ = nullptr;

// The CLI's JSON for one image, as the reference the server must match.
json cli_detection(const std::string& path, const std::string& extra = "") {
  const CliResult r = run_cli("detect --format json " + extra + " " + shell_quote(path));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

void expect_same_objects(const json& a, const json& b) {
  ASSERT_EQ(a.at("objects").size(), b.at("objects").size()) << a.dump() << "\n" << b.dump();
  EXPECT_EQ(a.at("image"), b.at("image"));
  for (std::size_t i = 0; i < a["objects"].size(); ++i) EXPECT_EQ(a["objects"][i], b["objects"][i]);
}

TEST_F(ServerApiTest, HealthEndpoints) {
  auto c = server_->client();
  for (const char* path :
       {"/ping", "/v2/health/live", "/v2/health/ready", "/v2/models/picodet_s_416/ready"}) {
    auto res = c.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_FALSE(res->get_header_value("X-Request-Id").empty());
  }
  auto not_loaded = c.Get("/v2/models/yolox_nano/ready");
  ASSERT_TRUE(not_loaded);
  EXPECT_EQ(not_loaded->status, 404);
  auto meta = c.Get("/v2");
  ASSERT_TRUE(meta);
  EXPECT_EQ(json::parse(meta->body).at("name"), "visearch");
}

TEST_F(ServerApiTest, ModelMetadata) {
  auto c = server_->client();
  auto list = c.Get("/v1/models");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200);
  const json models = json::parse(list->body).at("models");
  ASSERT_EQ(models.size(), 2U);
  bool saw_default = false;
  for (const auto& m : models) {
    if (m.at("default").get<bool>()) {
      saw_default = true;
      EXPECT_EQ(m.at("name"), "picodet_s_416");
    }
  }
  EXPECT_TRUE(saw_default);
  auto one = c.Get("/v1/models/fastestdet");
  ASSERT_TRUE(one);
  ASSERT_EQ(one->status, 200);
  const json m = json::parse(one->body);
  EXPECT_EQ(m.at("family"), "fastestdet");
  EXPECT_EQ(m.at("input").at("width"), 352);
  EXPECT_EQ(m.at("labels").size(), 80U);
  auto kserve = c.Get("/v2/models/picodet_s_416");
  ASSERT_TRUE(kserve);
  ASSERT_EQ(kserve->status, 200);
  EXPECT_EQ(json::parse(kserve->body).at("outputs").size(), 4U);
  auto missing = c.Get("/v1/models/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body).at("error").at("code"), "not_found");
}

TEST_F(ServerApiTest, RawMultipartAndJsonBodiesMatchTheCli) {
  const std::string path = sample("bus.jpg");
  const std::string bytes = read_file(path);
  const json expected = cli_detection(path);
  auto c = server_->client();

  auto raw = c.Post("/v1/detect", bytes, "image/jpeg");
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->status, 200) << raw->body;
  const json raw_json = json::parse(raw->body);
  expect_same_objects(raw_json, expected);
  EXPECT_EQ(raw_json.at("model"), "picodet_s_416");
  EXPECT_EQ(raw_json.at("request_id"), raw->get_header_value("X-Request-Id"));
  for (const char* stage : {"decode", "preprocess", "inference", "postprocess"}) {
    EXPECT_GT(raw_json.at("timing_ms").at(stage).get<double>(), 0.0) << stage;
  }

  httplib::MultipartFormDataItems items{{"image", bytes, "bus.jpg", "image/jpeg"}};
  auto multi = c.Post("/invocations", items);
  ASSERT_TRUE(multi);
  ASSERT_EQ(multi->status, 200) << multi->body;
  const json multi_json = json::parse(multi->body);
  expect_same_objects(multi_json, expected);
  EXPECT_EQ(multi_json.at("source"), "bus.jpg");

  const std::string b64 = base64(bytes);
  auto js = c.Post("/v1/detect", json{{"image", b64}}.dump(), "application/json");
  ASSERT_TRUE(js);
  ASSERT_EQ(js->status, 200) << js->body;
  expect_same_objects(json::parse(js->body), expected);
}

TEST_F(ServerApiTest, ParametersMatchTheCliFlags) {
  const std::string path = sample("000000000139.jpg");
  const json expected = cli_detection(path,
                                      "--model fastestdet --score-threshold 0.4 --iou-threshold 0.5 "
                                      "--max-detections 3 --classes chair,tv --agnostic-nms");
  auto c = server_->client();
  auto res = c.Post(
      "/v1/"
      "detect?model=fastestdet&score_threshold=0.4&iou_threshold=0.5&max_detections=3&classes=chair,tv&"
      "agnostic_nms=true",
      read_file(path), "image/jpeg");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json got = json::parse(res->body);
  EXPECT_EQ(got.at("model"), "fastestdet");
  expect_same_objects(got, expected);
  EXPECT_LE(got.at("objects").size(), 3U);
  for (const auto& o : got.at("objects")) EXPECT_TRUE(o.at("label") == "chair" || o.at("label") == "tv");

  httplib::MultipartFormDataItems items{{"image", read_file(path), "a.jpg", "image/jpeg"},
                                        {"model", "fastestdet", "", ""},
                                        {"score_threshold", "0.4", "", ""},
                                        {"iou_threshold", "0.5", "", ""},
                                        {"max_detections", "3", "", ""},
                                        {"classes", "chair,tv", "", ""},
                                        {"agnostic_nms", "true", "", ""}};
  auto form = c.Post("/v1/detect", items);
  ASSERT_TRUE(form);
  ASSERT_EQ(form->status, 200) << form->body;
  expect_same_objects(json::parse(form->body), expected);
}

TEST_F(ServerApiTest, KserveInferJsonAndBinaryExtension) {
  const std::string path = sample("dog.jpg");
  const std::string bytes = read_file(path);
  const json expected = cli_detection(path);
  auto c = server_->client();
  const json request{
      {"id", "abc-1"},
      {"inputs", {{{"name", "image"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {base64(bytes)}}}}}};
  auto res = c.Post("/v2/models/picodet_s_416/infer", request.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json out = json::parse(res->body);
  EXPECT_EQ(out.at("id"), "abc-1");
  const std::size_t n = expected.at("objects").size();
  ASSERT_GT(n, 0U);
  json boxes;
  json labels;
  for (const auto& o : out.at("outputs")) {
    if (o.at("name") == "boxes") boxes = o;
    if (o.at("name") == "labels") labels = o;
  }
  ASSERT_EQ(boxes.at("shape"), json({n, 4}));
  ASSERT_EQ(labels.at("data").size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(labels["data"][i], expected["objects"][i]["label"]);
    EXPECT_NEAR(boxes["data"][4 * i].get<double>(), expected["objects"][i]["box"]["x1"].get<double>(), 0.01);
    EXPECT_NEAR(boxes["data"][4 * i + 3].get<double>(), expected["objects"][i]["box"]["y2"].get<double>(),
                0.01);
  }

  // Binary tensor extension: JSON header, then the raw image bytes.
  const std::string header = json{{"inputs",
                                   {{{"name", "image"},
                                     {"datatype", "BYTES"},
                                     {"shape", {1}},
                                     {"parameters", {{"binary_data_size", bytes.size()}}}}}}}
                                 .dump();
  httplib::Headers headers{{"Inference-Header-Content-Length", std::to_string(header.size())}};
  auto bin = c.Post("/v2/models/picodet_s_416/infer", headers, header + bytes, "application/octet-stream");
  ASSERT_TRUE(bin);
  ASSERT_EQ(bin->status, 200) << bin->body;
  EXPECT_EQ(json::parse(bin->body).at("outputs")[3].at("data"), labels.at("data"));
}

TEST_F(ServerApiTest, RequestIdIsEchoed) {
  auto c = server_->client();
  auto res = c.Get("/ping", httplib::Headers{{"X-Request-Id", "trace-42"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("X-Request-Id"), "trace-42");
}

double metric_value(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0.0;
}

// Eight clients on two workers: answers identical to the CLI's, whichever session set (solo, with two
// threads, or a worker's own single-thread one) ran them; the concurrency must have used the shared ones.
TEST_F(ServerApiTest, ParallelClientsAllGetCorrectAnswers) {
  const std::vector<std::string> names{"bus.jpg", "dog.jpg", "person.jpg", "zidane.jpg"};
  std::map<std::string, json> expected;
  for (const auto& n : names) expected[n] = cli_detection(sample(n));
  std::atomic<int> correct{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      auto c = server_->client();
      for (int i = 0; i < 4; ++i) {
        const std::string& n = names[static_cast<std::size_t>(t + i) % names.size()];
        auto res = c.Post("/v1/detect", read_file(sample(n)), "image/jpeg");
        if (res && res->status == 200 && json::parse(res->body).at("objects") == expected[n].at("objects")) {
          ++correct;
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(correct.load(), 32);
  EXPECT_EQ(failed.load(), 0);
  auto metrics = server_->client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_GT(metric_value(metrics->body, R"(visearch_inference_runs_total{mode="shared"})"), 0.0);
}

TEST_F(ServerApiTest, MetricsCountersMoveAsRequestsAreServed) {
  auto c = server_->client();
  auto before = c.Get("/metrics");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200);
  EXPECT_NE(before->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  const std::string ok_series = R"(visearch_http_requests_total{route="/v1/detect",status="200"})";
  const std::string bad_series = R"(visearch_http_requests_total{route="/v1/detect",status="415"})";
  const double ok_before = metric_value(before->body, ok_series);
  const double bad_before = metric_value(before->body, bad_series);
  const double inference_before = metric_value(before->body, "visearch_inference_seconds_count");
  const std::string solo_series = R"(visearch_inference_runs_total{mode="solo"})";
  const double solo_before = metric_value(before->body, solo_series);
  auto ok = c.Post("/v1/detect", read_file(sample("dog.jpg")), "image/jpeg");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  auto bad = c.Post("/v1/detect", "hello", "text/plain");
  ASSERT_TRUE(bad);
  ASSERT_EQ(bad->status, 415) << bad->body;
  // Request counters are updated by the access logger, just after each response is written, on the
  // connection's own thread: the two requests' loggers may run in either order. Poll for both.
  std::string after_body;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto after = c.Get("/metrics");
    ASSERT_TRUE(after);
    after_body = after->body;
    if (metric_value(after_body, bad_series) == bad_before + 1 &&
        metric_value(after_body, ok_series) == ok_before + 1) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(metric_value(after_body, ok_series), ok_before + 1);
  EXPECT_EQ(metric_value(after_body, bad_series), bad_before + 1);
  EXPECT_EQ(metric_value(after_body, "visearch_inference_seconds_count"), inference_before + 1);
  // A lone request on an idle server runs on the solo (two-thread) sessions.
  EXPECT_EQ(metric_value(after_body, solo_series), solo_before + 1);
  for (const char* name : {"visearch_decode_seconds_bucket", "visearch_queue_wait_seconds_bucket",
                           "visearch_request_seconds_bucket", "visearch_in_flight_requests",
                           "visearch_queue_depth", "visearch_model_load_seconds{model=\"picodet_s_416\"}"}) {
    EXPECT_NE(after_body.find(name), std::string::npos) << name;
  }
}

TEST_F(ServerApiTest, AccessLogHasOneJsonLinePerRequest) {
  auto c = server_->client();
  ASSERT_TRUE(c.Get("/ping", httplib::Headers{{"X-Request-Id", "log-check-7"}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::istringstream lines(server_->log());
  std::string line;
  int found = 0;
  while (std::getline(lines, line)) {
    if (line.find("log-check-7") == std::string::npos) continue;
    const json j = json::parse(line);
    EXPECT_EQ(j.at("path"), "/ping");
    EXPECT_EQ(j.at("status"), 200);
    ++found;
  }
  EXPECT_EQ(found, 1);
}

}  // namespace
}  // namespace visearch::testing
