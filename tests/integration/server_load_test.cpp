// Behaviour under load: a full queue answers 503 at once, deadlines give 504,
// SIGTERM drains in-flight requests and exits 0.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

TEST(ServerLoad, SlowClientsDoNotHoldTheInferenceWorker) {
  ServerProcess server({"--models", "fastestdet", "--workers", "1", "--queue-size", "0"});
  ASSERT_TRUE(server.ready()) << server.log();
  // Three clients announce a body and then trickle nothing: they occupy I/O threads only.
  std::vector<int> slow;
  for (int i = 0; i < 3; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(server.port()));
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);  // NOLINT
    const std::string head =
        "POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: "
        "100000\r\n\r\n\xff\xd8";
    ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
    slow.push_back(fd);
  }
  // With one worker and no queue, a real request still gets the worker.
  for (int i = 0; i < 3; ++i) {
    auto res = server.client().Post("/v1/detect", read_file(sample("dog.jpg")), "image/jpeg");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
  }
  for (int fd : slow) ::close(fd);
}

}  // namespace
}  // namespace visearch::testing
