// Behaviour under load: a full queue answers 503 at once, deadlines give 504,
// SIGTERM drains in-flight requests and exits 0.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "server_fixture.h"

namespace visearch::testing {
namespace {

using nlohmann::json;

TEST(ServerLoad, FullQueueAnswers503WithRetryAfter) {
  ServerProcess server(
      {"--models", "picodet_s_416", "--workers", "1", "--threads-per-worker", "1", "--queue-size", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  const std::string jpeg = read_file(sample("zidane.jpg"));
  std::vector<std::future<std::pair<int, std::string>>> results;
  for (int i = 0; i < 12; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      auto c = server.client();
      auto res = c.Post("/v1/detect", jpeg, "image/jpeg");
      if (!res) return std::make_pair(-1, std::string());
      return std::make_pair(res->status, res->get_header_value("Retry-After"));
    }));
  }
  int ok = 0;
  int busy = 0;
  for (auto& f : results) {
    const auto [status, retry_after] = f.get();
    if (status == 200) {
      ++ok;
    } else if (status == 503) {
      ++busy;
      EXPECT_EQ(retry_after, "1");
    } else {
      ADD_FAILURE() << "unexpected status " << status;
    }
  }
  EXPECT_GE(ok, 2);  // one running + one queued at least
  EXPECT_GE(busy, 1);
  auto metrics = server.client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(R"(visearch_rejected_requests_total{reason="queue_full"})"),
            std::string::npos);
}

TEST(ServerLoad, DeadlineExceededAnswers504) {
  ServerProcess server({"--models", "picodet_s_416", "--workers", "1", "--timeout-ms", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto res = server.client().Post("/v1/detect", read_file(sample("bus.jpg")), "image/jpeg");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 504);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "deadline_exceeded");
  // And it keeps answering.
  EXPECT_EQ(server.client().Get("/ping")->status, 200);
}

TEST(ServerLoad, SigtermDrainsInFlightRequestsAndExitsZero) {
  ServerProcess server(
      {"--models", "picodet_s_416", "--workers", "1", "--threads-per-worker", "1", "--queue-size", "8"});
  ASSERT_TRUE(server.ready()) << server.log();
  const std::string jpeg = read_file(sample("bus.jpg"));
  std::vector<std::future<int>> in_flight;
  for (int i = 0; i < 4; ++i) {
    in_flight.push_back(std::async(std::launch::async, [&] {
      auto c = server.client();
      auto res = c.Post("/v1/detect", jpeg, "image/jpeg");
      return res ? res->status : -1;
    }));
  }
  // Wait until all four are inside the server (one running, three queued).
  for (int i = 0; i < 200; ++i) {
    auto m = server.client().Get("/metrics");
    if (m && m->body.find("visearch_queue_depth 3") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int exit_code = server.terminate(30000);
  for (auto& f : in_flight) EXPECT_EQ(f.get(), 200);
  EXPECT_EQ(exit_code, 0) << server.log();
  EXPECT_NE(server.log().find("\"event\":\"stopped\""), std::string::npos);
}

}  // namespace
}  // namespace visearch::testing
