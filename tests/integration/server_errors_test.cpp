// Every error status of the service, with the JSON error body, and that no bad
// input takes the process down.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "server_fixture.h"

namespace visearch::testing {
namespace {

using nlohmann::json;

void expect_error(const httplib::Result& res, int status, const std::string& code) {
  ASSERT_TRUE(res) << "no response";
  EXPECT_EQ(res->status, status) << res->body;
  const json body = json::parse(res->body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << res->body;
  EXPECT_EQ(body["error"]["code"], code) << res->body;
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
}

class ServerErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--models", "fastestdet", "--max-body-mb", "1", "--max-pixels", "500000"});
    ASSERT_TRUE(server_->ready()) << server_->log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static ServerProcess* server_;
};
ServerProcess* ServerErrorsTest::server_ = nullptr;

TEST_F(ServerErrorsTest, BadInputGetsTheRightStatusAndTheServerStaysUp) {
  auto c = server_->client();
  const std::string jpeg = read_file(sample("dog.jpg"));
  std::mt19937 rng(7);
  std::string noise(4096, '\0');
  for (char& ch : noise) ch = static_cast<char>(rng());

  expect_error(c.Post("/v1/detect", noise, "image/jpeg"), 415, "unsupported_format");  // not any image format
  expect_error(c.Post("/v1/detect", jpeg.substr(0, jpeg.size() / 2), "image/jpeg"), 400, "corrupt_image");
  expect_error(c.Post("/v1/detect", "", "image/jpeg"), 400, "corrupt_image");
  expect_error(c.Post("/v1/detect", jpeg, "text/plain"), 415, "unsupported_media_type");
  expect_error(c.Post("/v1/detect", "{not json", "application/json"), 400, "invalid_argument");
  expect_error(c.Post("/v1/detect", json{{"image", "!!!"}}.dump(), "application/json"), 400,
               "invalid_argument");
  expect_error(c.Post("/v1/detect?score_threshold=abc", jpeg, "image/jpeg"), 400, "invalid_argument");
  // Wrong JSON types are refused, naming the parameter, never ignored (issue 11, defect 7).
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, json>>{{"score_threshold", json::array({0.99})},
                                                 {"max_detections", json::array({1})},
                                                 {"classes", json{{"bus", 1}}},
                                                 {"classes", json::array({json::array({"bus"})})},
                                                 {"iou_threshold", json(nullptr)},
                                                 {"model", json::object()}}) {
    auto res = c.Post("/v1/detect", json{{"image", base64(jpeg)}, {name, value}}.dump(), "application/json");
    expect_error(res, 400, "invalid_argument");
    ASSERT_TRUE(res);
    EXPECT_NE(res->body.find(name + " must be"), std::string::npos) << res->body;
  }
  expect_error(c.Post("/v1/detect?score_threshold=2", jpeg, "image/jpeg"), 400, "invalid_argument");
  expect_error(c.Post("/v1/detect?classes=unicorn", jpeg, "image/jpeg"), 400, "invalid_argument");
  expect_error(c.Post("/v1/detect?model=nope", jpeg, "image/jpeg"), 404, "not_found");
  expect_error(c.Get("/no/such/route"), 404, "not_found");
  expect_error(c.Get("/v1/detect"), 405, "method_not_allowed");
  // Paths that are not UTF-8 once decoded reach the access log and the error message: answered, never fatal.
  expect_error(c.Get("/%FF%FE"), 404, "not_found");
  expect_error(c.Get("/v1/models/%FF"), 404, "not_found");
  expect_error(c.Post("/v2/models/%C3%28/infer", "{}", "application/json"), 404, "not_found");
  expect_error(c.Post("/v1/detect?model=%FF", jpeg, "image/jpeg"), 404, "not_found");
  // bus.jpg is 810x1080 = 874,800 pixels > --max-pixels 500000.
  expect_error(c.Post("/v1/detect", read_file(sample("bus.jpg")), "image/jpeg"), 422, "image_too_large");
  // 2 MB > --max-body-mb 1, refused from Content-Length.
  expect_error(c.Post("/v1/detect", std::string(2U << 20U, 'x'), "image/jpeg"), 413, "payload_too_large");
  httplib::MultipartFormDataItems no_image{{"file", jpeg, "a.jpg", "image/jpeg"}};
  expect_error(c.Post("/v1/detect", no_image), 400, "invalid_argument");
  expect_error(c.Post("/v2/models/fastestdet/infer", "{}", "application/json"), 400, "invalid_argument");
  expect_error(c.Post("/v2/models/nope/infer", "{}", "application/json"), 404, "not_found");

  // Still serving correctly after all that.
  auto ok = c.Post("/v1/detect", jpeg, "image/jpeg");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_GT(json::parse(ok->body)["objects"].size(), 0U);
}

TEST(ServerAuth, ApiKeyProtectsEverythingButHealth) {
  const std::string key_file = "/tmp/visearch_test_key_" + std::to_string(::getpid());
  std::ofstream(key_file) << "s3cret-key-0123456789\n";
  ServerProcess server(
      {"--models", "fastestdet", "--api-key-file", key_file, "--cors-origin", "https://shop.example"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  EXPECT_EQ(c.Get("/ping")->status, 200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  expect_error(c.Get("/v1/models"), 401, "unauthorized");
  expect_error(c.Get("/v1/models", httplib::Headers{{"Authorization", "Bearer wrong-key-0123456789"}}), 401,
               "unauthorized");
  expect_error(c.Post("/v1/detect", read_file(sample("dog.jpg")), "image/jpeg"), 401, "unauthorized");
  auto bearer = c.Get("/v1/models", httplib::Headers{{"Authorization", "Bearer s3cret-key-0123456789"}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  // The scheme is case-insensitive (issue 11, defect 12).
  for (const char* scheme : {"bearer", "BEARER", "bEaReR"}) {
    auto cased = c.Get("/v1/models",
                       httplib::Headers{{"Authorization", std::string(scheme) + " s3cret-key-0123456789"}});
    ASSERT_TRUE(cased);
    EXPECT_EQ(cased->status, 200) << scheme;
  }
  expect_error(c.Get("/v1/models", httplib::Headers{{"Authorization", "Bearers3cret-key-0123456789"}}), 401,
               "unauthorized");
  // A JSON body that does not parse says why (1e309 overflows a double).
  auto overflow = c.Post("/v1/detect", httplib::Headers{{"X-API-Key", "s3cret-key-0123456789"}},
                         R"({"image": "x", "score_threshold": 1e309})", "application/json");
  expect_error(overflow, 400, "invalid_argument");
  EXPECT_NE(overflow->body.find("number overflow"), std::string::npos) << overflow->body;
  auto header = c.Get("/v1/models", httplib::Headers{{"X-API-Key", "s3cret-key-0123456789"}});
  ASSERT_TRUE(header);
  EXPECT_EQ(header->status, 200);
  EXPECT_EQ(header->get_header_value("Access-Control-Allow-Origin"), "https://shop.example");
  auto preflight = c.Options("/v1/detect");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Headers").find("Authorization"),
            std::string::npos);
  std::remove(key_file.c_str());
}

// Static files with an API key (issue 11, defects 5 and 6): HEAD is as open as GET, and a NUL byte never
// truncates a path (/index.html%00.png served the HTML as image/png, without its Content-Security-Policy).
TEST(ServerStatic, HeadIsOpenLikeGetAndNulBytesAreRefused) {
  const std::string dir = "/tmp/visearch_static_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/index.html") << "<!doctype html><title>shop</title>\n";
  const std::string key_file = dir + "/key";
  std::ofstream(key_file) << "static-key-0123456789\n";
  ServerProcess server({"--models", "fastestdet", "--api-key-file", key_file, "--static-dir", dir});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  auto get = c.Get("/index.html");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  auto head = c.Head("/index.html");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Type"), get->get_header_value("Content-Type"));
  EXPECT_FALSE(head->get_header_value("Content-Security-Policy").empty());
  // The API stays closed to HEAD as to GET.
  auto head_api = c.Head("/v1/models");
  ASSERT_TRUE(head_api);
  EXPECT_EQ(head_api->status, 401);

  for (const char* path : {"/index.html%00.png", "/index.html%00", "/%00"}) {
    auto res = c.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 400) << path << " " << res->get_header_value("Content-Type");
    EXPECT_EQ(res->body.find("<title>"), std::string::npos) << path;
    auto head_nul = c.Head(path);
    ASSERT_TRUE(head_nul) << path;
    EXPECT_EQ(head_nul->status, 400) << path;
  }
  std::filesystem::remove_all(dir);
}

TEST(ServerStartup, ShortApiKeyIsRefused) {
  const std::string key_file = "/tmp/visearch_short_key_" + std::to_string(::getpid());
  std::ofstream(key_file) << "short\n";
  ServerProcess server({"--models", "fastestdet", "--api-key-file", key_file});
  EXPECT_FALSE(server.ready());
  std::remove(key_file.c_str());
}

}  // namespace
}  // namespace visearch::testing

namespace visearch::testing {
namespace {

// Writes `bytes` on a fresh loopback connection, then (when `read`) reads until the server closes it or
// 0.3 s pass without a byte; without `read` it closes the connection at once.
std::string raw_exchange(int port, const std::string& bytes, bool read = true) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {  // NOLINT: the sockets API
    timeval timeout{0, 300000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    static_cast<void>(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL));
    char buffer[4096];
    ssize_t got = 0;
    while (read && (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
      reply.append(buffer, static_cast<std::size_t>(got));
    }
  }
  ::close(fd);
  return reply;
}

// /metrics stays bounded and true (issue 11, defects 3 and 4): routes are labelled by their pattern
// whatever paths clients send (3000 distinct paths made 3006 series), requests httplib refuses before
// routing never drive the in-flight gauge below zero, and searches feed the latency histograms.
TEST(ServerMetrics, RouteLabelsAreBoundedAndInFlightNeverGoesNegative) {
  ServerProcess server({"--models", "fastestdet"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto c = server.client();
  for (int i = 0; i < 100; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(c.Get("/nope/" + n));
    ASSERT_TRUE(c.Get("/v1/models/no_such_model_" + n));
    ASSERT_TRUE(c.Get("/v1/products/p" + n));
    ASSERT_TRUE(c.Get("/static-" + n + ".js"));
    ASSERT_TRUE(c.Get("/v1/nope%00" + n));
  }
  // Refused by the HTTP library before any route sees them: a 414, a garbage request line, a
  // connection closed halfway through its headers.
  for (int i = 0; i < 5; ++i) {
    EXPECT_NE(raw_exchange(server.port(), "GET /" + std::string(70000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"),
              "");
    raw_exchange(server.port(), "NOT AN HTTP REQUEST\r\n\r\n");
    raw_exchange(server.port(), "GET /ping HTTP/1.1\r\nHost: x\r\nX-Half: ", false);
  }
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  std::istringstream lines(metrics->body);
  std::string line;
  int series = 0;
  double in_flight = -1e9;
  while (std::getline(lines, line)) {
    if (line.rfind("visearch_http_requests_total{", 0) == 0) {
      ++series;
      EXPECT_EQ(line.find("/nope/"), std::string::npos) << line;
      EXPECT_EQ(line.find("no_such_model"), std::string::npos) << line;
      EXPECT_EQ(line.find("/v1/products/p"), std::string::npos) << line;
    }
    if (line.rfind("visearch_in_flight_requests ", 0) == 0) in_flight = std::stod(line.substr(28));
  }
  EXPECT_LE(series, 12) << metrics->body;
  EXPECT_NE(metrics->body.find("route=\"/v1/models/{name}\""), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("route=\"unmatched\""), std::string::npos) << metrics->body;
  EXPECT_EQ(in_flight, 1.0) << "only the /metrics request itself is in flight";
}

}  // namespace
}  // namespace visearch::testing

namespace visearch::testing {
namespace {

// A drain that times out drops what it still holds: the process says so and exits non-zero (issue 11,
// defect 10). A client holding a request half-sent keeps the drain from finishing.
TEST(ServerDrain, ATimedOutDrainLogsWhatItDroppedAndExitsNonZero) {
  ServerProcess server({"--models", "fastestdet", "--drain-timeout-ms", "300"});
  ASSERT_TRUE(server.ready()) << server.log();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);  // NOLINT: sockets API
  const std::string head =
      "POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\nabc";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server is reading the body
  EXPECT_EQ(server.terminate(), 1) << server.log();
  ::close(fd);
  const std::string log = server.log();
  EXPECT_NE(log.find("\"event\":\"drain_timeout\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"dropped_in_flight\":1"), std::string::npos) << log;
}

}  // namespace
}  // namespace visearch::testing
