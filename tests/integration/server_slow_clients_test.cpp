// Slow and greedy clients against the connection gate (apps/server/connection_gate.h): a real
// `visearch serve` on loopback, raw sockets from a second loopback address (127.0.0.2) playing the
// attacker, and ordinary clients from 127.0.0.1 that must still be answered.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.h"

namespace visearch::testing {
namespace {

// A connection to the server from `source` (a loopback address); -1 when it cannot be made.
int connect_from(const char* source, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||       // NOLINT
      ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {  // NOLINT
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Everything the server sends until it closes the connection or `limit` passes without a byte.
struct Received {
  std::string bytes;
  bool closed = false;
};
Received receive_until_closed(int fd, std::chrono::seconds limit) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(limit.count());
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  Received got;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      got.bytes.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    got.closed = n == 0 || (n < 0 && errno == ECONNRESET);
    return got;
  }
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

// A client with deadlines: a server that never answers fails the request instead of hanging the test.
httplib::Client patient_client(const ServerProcess& server) {
  httplib::Client client = server.client();
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(5, 0);
  return client;
}

// Issue 11, defect 2: 200 connections sending their request heads a byte a second held every HTTP thread
// and /ping took 27-30 s. Here 5x the request threads trickle their heads forever (a byte every 100 ms, so
// no single read ever times out) while ordinary clients ping and detect.
TEST(ServerSlowClients, TricklingHeadsDoNotStarveOtherClients) {
  constexpr int kThreads = 4;
  ServerProcess server({"--models", "fastestdet", "--http-threads", std::to_string(kThreads)});
  ASSERT_TRUE(server.ready()) << server.log();

  // Connections from 127.0.0.2 that send a request head a byte every 100 ms, forever: no single read
  // ever times out. Stopped and closed however the test ends.
  struct Trickler {
    std::vector<int> fds;
    std::atomic<bool> stop{false};
    std::thread thread;
    ~Trickler() {
      stop = true;
      if (thread.joinable()) thread.join();
      for (const int fd : fds) ::close(fd);
    }
  } slow;
  for (int i = 0; i < 5 * kThreads; ++i) {
    const int fd = connect_from("127.0.0.2", server.port());
    ASSERT_GE(fd, 0);
    slow.fds.push_back(fd);
  }
  slow.thread = std::thread([&slow] {
    const std::string head = "GET /ping HTTP/1.1\r\nHost: x\r\nX-Padding: ";
    for (std::size_t i = 0; !slow.stop.load(); ++i) {
      const char byte = i < head.size() ? head[i] : 'a';
      for (const int fd : slow.fds) ::send(fd, &byte, 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // every slow head has begun

  httplib::Client client = patient_client(server);
  for (int i = 0; i < 10; ++i) {
    auto res = client.Get("/ping");
    ASSERT_TRUE(res) << "ping " << i << " got no answer while slow clients held connections";
    EXPECT_EQ(res->status, 200);
  }
  auto detect = client.Post("/v1/detect", read_file(sample("dog.jpg")), "image/jpeg");
  ASSERT_TRUE(detect);
  EXPECT_EQ(detect->status, 200) << detect->body;
}

TEST(ServerSlowClients, AHeadThatDoesNotArriveInTimeGets408) {
  ServerProcess server({"--models", "fastestdet", "--head-timeout-ms", "1000"});
  ASSERT_TRUE(server.ready()) << server.log();
  const int fd = connect_from("127.0.0.2", server.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET /ping HTTP/1.1\r\nHo"));
  const Received got = receive_until_closed(fd, std::chrono::seconds(20));
  ::close(fd);
  EXPECT_EQ(status_of(got.bytes), 408) << got.bytes;
  EXPECT_NE(got.bytes.find("\"request_head_timeout\""), std::string::npos) << got.bytes;
  EXPECT_TRUE(got.closed);

  auto metrics = patient_client(server).Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("visearch_rejected_requests_total{reason=\"request_head_timeout\"} 1"),
            std::string::npos)
      << metrics->body;
}

TEST(ServerSlowClients, OneClientAddressCannotTakeEveryConnection) {
  ServerProcess server({"--models", "fastestdet", "--max-connections-per-client", "5"});
  ASSERT_TRUE(server.ready()) << server.log();
  std::vector<int> held;
  for (int i = 0; i < 5; ++i) {
    const int fd = connect_from("127.0.0.2", server.port());
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  // The sixth from the same address is refused with 503 and Retry-After, and closed...
  const int sixth = connect_from("127.0.0.2", server.port());
  ASSERT_GE(sixth, 0);
  send_all(sixth, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  const Received got = receive_until_closed(sixth, std::chrono::seconds(20));
  ::close(sixth);
  EXPECT_EQ(status_of(got.bytes), 503) << got.bytes;
  EXPECT_NE(got.bytes.find("Retry-After: 1"), std::string::npos) << got.bytes;
  EXPECT_NE(got.bytes.find("too_many_connections_from_client"), std::string::npos) << got.bytes;
  EXPECT_TRUE(got.closed);

  // ...while another address is served, and so is the first one again once it lets a connection go.
  auto ping = patient_client(server).Get("/ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200);
  ::close(held.back());
  held.pop_back();
  bool served_again = false;
  for (int attempt = 0; attempt < 50 && !served_again; ++attempt) {  // the close reaches the server soon
    const int fd = connect_from("127.0.0.2", server.port());
    ASSERT_GE(fd, 0);
    send_all(fd, "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    served_again = status_of(receive_until_closed(fd, std::chrono::seconds(20)).bytes) == 200;
    ::close(fd);
    if (!served_again) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(served_again);
  for (const int fd : held) ::close(fd);
}

TEST(ServerSlowClients, ABodyTrickledTooSlowlyIsCutOff) {
  ServerProcess server({"--models", "fastestdet", "--io-timeout-ms", "1000", "--min-body-kb-per-s", "4",
                        "--http-threads", "2"});
  ASSERT_TRUE(server.ready()) << server.log();
  const int fd = connect_from("127.0.0.2", server.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd,
                       "POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                       "Content-Length: 100000\r\n\r\n"));
  // 20 bytes every 100 ms: each read succeeds, but the body averages 200 B/s against 4 KiB/s.
  std::atomic<bool> closed{false};
  std::thread trickle([&] {
    const std::string piece(20, 'x');
    for (int i = 0; i < 300 && !closed.load(); ++i) {
      if (::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL) <= 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  const Received got = receive_until_closed(fd, std::chrono::seconds(25));  // cannot fail early
  closed = true;
  trickle.join();
  ::close(fd);
  EXPECT_TRUE(got.closed) << "the server kept reading a body sent at 200 B/s";
  if (!got.bytes.empty()) {
    EXPECT_EQ(status_of(got.bytes), 400) << got.bytes;
  }
}

TEST(ServerSlowClients, PipelinedAndSplitRequestsAreServedInOrder) {
  ServerProcess server({"--models", "fastestdet"});
  ASSERT_TRUE(server.ready()) << server.log();
  const int fd = connect_from("127.0.0.1", server.port());
  ASSERT_GE(fd, 0);
  // A head sent in pieces, then two requests in one write, the second closing the connection.
  for (const char* piece : {"GET /ping HT", "TP/1.1\r\nHost:", " x\r\n", "\r\n"}) {
    ASSERT_TRUE(send_all(fd, piece));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(send_all(fd,
                       "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const Received got = receive_until_closed(fd, std::chrono::seconds(20));
  ::close(fd);
  const std::size_t first = got.bytes.find("HTTP/1.1 200");
  const std::size_t second = got.bytes.find("HTTP/1.1 200", first + 1);
  const std::size_t third = got.bytes.find("HTTP/1.1 404", second == std::string::npos ? 0 : second + 1);
  EXPECT_NE(first, std::string::npos) << got.bytes;
  EXPECT_NE(second, std::string::npos) << got.bytes;
  EXPECT_NE(third, std::string::npos) << got.bytes;
  EXPECT_NE(got.bytes.find("fastestdet"), std::string::npos) << got.bytes;
  EXPECT_TRUE(got.closed);
}

}  // namespace
}  // namespace visearch::testing
