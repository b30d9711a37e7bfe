#include "server/connection_gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace visearch::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 16 * 1024;

struct Connection {
  int fd = -1;
  std::string remote_ip;
  int remote_port = 0;
  std::string local_ip;
  int local_port = 0;
  std::string pending;      // received, not yet given to httplib
  std::size_t scanned = 0;  // pending[0, scanned) holds no end of the request head
  bool head_started = false;
  Clock::time_point deadline;
};

// Runs each accepted socket's task at once, on the accept thread (see process_and_close_socket).
class InlineQueue final : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

std::string ip_of(const sockaddr_storage& address, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);  // NOLINT(*-reinterpret-cast)
    port = ntohs(v4.sin_port);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);  // NOLINT(*-reinterpret-cast)
    port = ntohs(v6.sin6_port);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
  }
  return text;
}

// Whether pending holds a whole request head: a line feed followed by an empty line.
bool head_complete(Connection& c) {
  const std::string_view bytes(c.pending);
  const std::size_t from = c.scanned >= 2 ? c.scanned - 2 : 0;
  const std::size_t crlf = bytes.find("\n\r\n", from);
  const std::size_t lf = bytes.find("\n\n", from);
  if (crlf != std::string_view::npos || lf != std::string_view::npos) return true;
  c.scanned = bytes.size();
  return false;
}

// Waits until fd is readable (POLLIN) or writable (POLLOUT), at most `timeout`.
bool wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  const auto until = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    const int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

// A response the gate writes itself, before (or instead of) httplib: best effort, never blocks.
void send_and_close(int fd, int status, std::string_view reason, std::string_view code,
                    std::string_view message, bool retry_after) {
  // Read what the client already sent, so that closing does not reset the connection before it reads
  // the answer (unread input makes close() send RST).
  std::array<char, 4096> sink{};
  for (int i = 0; i < 16 && ::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT) > 0; ++i) {
  }
  std::string body = "{\"error\":{\"code\":\"";
  body.append(code).append("\",\"message\":\"").append(message).append("\"}}");
  std::string response = "HTTP/1.1 " + std::to_string(status) + " ";
  response.append(reason).append("\r\nContent-Type: application/json\r\nConnection: close\r\n");
  if (retry_after) response.append("Retry-After: 1\r\n");
  response.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n").append(body);
  [[maybe_unused]] const ssize_t sent =
      ::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

// What httplib reads the request from and writes the response to: first the bytes the event thread
// already received, then the socket, each wait bounded by io_timeout, and the body held to a minimum
// average rate (a body sent a byte a second would otherwise hold a request thread for as long as the
// client likes).
class GateStream final : public httplib::Stream {
 public:
  GateStream(Connection& connection, const GateOptions& options) : c_(connection), options_(options) {}
  GateStream(const GateStream&) = delete;
  GateStream& operator=(const GateStream&) = delete;
  ~GateStream() override { c_.pending.erase(0, offset_); }

  bool is_readable() const override {
    return offset_ < c_.pending.size() || wait_for(c_.fd, POLLIN, options_.io_timeout);
  }
  bool is_writable() const override { return wait_for(c_.fd, POLLOUT, options_.io_timeout); }

  ssize_t read(char* ptr, size_t size) override {
    if (offset_ == c_.pending.size()) {
      const ssize_t got = fill();
      if (got <= 0) return got;
    }
    const std::size_t n = std::min(size, c_.pending.size() - offset_);
    std::memcpy(ptr, c_.pending.data() + offset_, n);
    offset_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!write_start_) write_start_ = Clock::now();
    if (!too_slow(written_, *write_start_)) {
      for (;;) {
        if (!wait_for(c_.fd, POLLOUT, options_.io_timeout)) break;
        const ssize_t n = ::send(c_.fd, ptr, size, MSG_NOSIGNAL);
        if (n >= 0) {
          written_ += static_cast<std::size_t>(n);
          return n;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
      }
    }
    return -1;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.remote_ip;
    port = c_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local_ip;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd; }

 private:
  // After the first io_timeout since `since`, fewer than min_body_bytes_per_second on average.
  [[nodiscard]] bool too_slow(std::size_t bytes, Clock::time_point since) const {
    const auto elapsed = Clock::now() - since;
    if (elapsed <= options_.io_timeout) return false;
    const double wanted = std::chrono::duration<double>(elapsed).count() *
                          static_cast<double>(options_.min_body_bytes_per_second);
    return static_cast<double>(bytes) < wanted;
  }

  // Receives more bytes into pending: > 0 received, 0 the client closed, -1 timeout, too slow or error.
  ssize_t fill() {
    c_.pending.erase(0, offset_);
    offset_ = 0;
    if (!read_start_) read_start_ = Clock::now();
    if (too_slow(received_, *read_start_)) return -1;
    std::array<char, kReadChunk> chunk{};
    for (;;) {
      if (!wait_for(c_.fd, POLLIN, options_.io_timeout)) return -1;
      const ssize_t n = ::recv(c_.fd, chunk.data(), chunk.size(), 0);
      if (n > 0) {
        c_.pending.append(chunk.data(), static_cast<std::size_t>(n));
        received_ += static_cast<std::size_t>(n);
        return n;
      }
      if (n == 0) return 0;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
    }
  }

  Connection& c_;
  const GateOptions& options_;
  // When this request first waited for the socket to read or to write: the rates count from there (a
  // handler may take its time between reading the body and writing the response).
  std::optional<Clock::time_point> read_start_;
  std::optional<Clock::time_point> write_start_;
  std::size_t offset_ = 0;    // pending[0, offset_) was given to httplib
  std::size_t received_ = 0;  // from the socket during this request
  std::size_t written_ = 0;
};

}  // namespace

const char* to_string(GateRefusal refusal) {
  switch (refusal) {
    case GateRefusal::kTooManyConnections:
      return "too_many_connections";
    case GateRefusal::kTooManyFromClient:
      return "too_many_connections_from_client";
    case GateRefusal::kHeadTimeout:
      return "request_head_timeout";
    case GateRefusal::kHeadTooLarge:
      return "request_head_too_large";
  }
  return "unknown";
}

class GatedHttpServer::Gate {
 public:
  Gate(GatedHttpServer& server, GateOptions options) : server_(server), options_(options) {}
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  ~Gate() {
    drain();
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  std::function<void(GateRefusal)> on_refusal;

  bool start() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || wake_fd_ < 0) return false;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = wake_fd_;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) return false;
    event_thread_ = std::thread([this] { event_loop(); });
    const int n = std::max(1, options_.request_threads);
    workers_.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { request_loop(); });
    started_ = true;
    return true;
  }

  // On the accept thread.
  void admit(int fd) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) {  // NOLINT
      c->remote_ip = ip_of(peer, c->remote_port);
    }
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) {  // NOLINT
      c->local_ip = ip_of(local, c->local_port);
    }
    std::optional<GateRefusal> refusal;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      int& from_client = per_client_[c->remote_ip];
      if (open_.load() >= options_.max_connections) {
        refusal = GateRefusal::kTooManyConnections;
      } else if (from_client >= options_.max_connections_per_client) {
        refusal = GateRefusal::kTooManyFromClient;
      } else {
        ++from_client;
        open_.fetch_add(1);
      }
      if (from_client == 0) per_client_.erase(c->remote_ip);
    }
    if (refusal) {
      send_and_close(fd, 503, "Service Unavailable", to_string(*refusal),
                     *refusal == GateRefusal::kTooManyConnections
                         ? "the server holds as many connections as it allows; retry later"
                         : "this client address holds as many connections as the server allows it; retry "
                           "later",
                     true);
      if (on_refusal) on_refusal(*refusal);
      return;
    }
    const int flags = ::fcntl(fd, F_GETFL, 0);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->deadline = Clock::now() + options_.head_timeout;
    to_event_thread(std::move(c));
  }

  void drain() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    if (!started_) return;
    wake();
    event_thread_.join();
    {
      std::lock_guard lock(mutex_);
      events_ended_ = true;
    }
    ready_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  GateCounts counts() const { return GateCounts{open_.load(), waiting_count_.load()}; }

 private:
  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  void to_event_thread(std::unique_ptr<Connection> c) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        incoming_.push_back(std::move(c));
        c = nullptr;
      }
    }
    if (c) {
      close_connection(std::move(c));
    } else {
      wake();
    }
  }

  void close_connection(std::unique_ptr<Connection> c) {
    ::shutdown(c->fd, SHUT_RDWR);
    ::close(c->fd);
    release(*c);
  }

  // Takes a closed connection off the counts.
  void release(const Connection& c) {
    std::lock_guard lock(mutex_);
    const auto it = per_client_.find(c.remote_ip);
    if (it != per_client_.end() && --it->second <= 0) per_client_.erase(it);
    open_.fetch_sub(1);
  }

  void refuse(std::unique_ptr<Connection> c, GateRefusal refusal) {
    const bool timeout = refusal == GateRefusal::kHeadTimeout;
    const std::string message =
        timeout ? "the request head did not arrive within " +
                      std::to_string(options_.head_timeout.count() / 1000) + " s"
                : "the request head is larger than " + std::to_string(options_.max_head_bytes) + " bytes";
    send_and_close(c->fd, timeout ? 408 : 431,
                   timeout ? "Request Timeout" : "Request Header Fields Too Large", to_string(refusal),
                   message, false);
    release(*c);
    if (on_refusal) on_refusal(refusal);
  }

  // The event thread: holds every connection that waits for (the rest of) a request head.
  void event_loop() {
    std::unordered_map<int, std::unique_ptr<Connection>> waiting;
    std::array<epoll_event, 64> events{};
    auto next_sweep = Clock::now();
    for (;;) {
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 100);
      const auto now = Clock::now();
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == wake_fd_) {
          std::uint64_t count = 0;
          [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &count, sizeof count);
          continue;
        }
        const auto it = waiting.find(fd);
        if (it == waiting.end()) continue;
        switch (receive(*it->second, now)) {
          case Progress::kWaiting:
            break;
          case Progress::kHead:
            ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
            to_request_threads(std::move(it->second));
            waiting.erase(it);
            break;
          case Progress::kClosed:
            ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
            close_connection(std::move(it->second));
            waiting.erase(it);
            break;
          case Progress::kTooLarge:
            ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
            refuse(std::move(it->second), GateRefusal::kHeadTooLarge);
            waiting.erase(it);
            break;
        }
      }
      std::vector<std::unique_ptr<Connection>> arrived;
      bool stopping = false;
      {
        std::lock_guard lock(mutex_);
        arrived.swap(incoming_);
        stopping = stopping_;
      }
      for (auto& c : arrived) {
        epoll_event event{};
        event.events = EPOLLIN | EPOLLRDHUP;
        event.data.fd = c->fd;
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &event) != 0) {
          close_connection(std::move(c));
          continue;
        }
        const int fd = c->fd;
        waiting.emplace(fd, std::move(c));
      }
      if (stopping) {
        for (auto& [fd, c] : waiting) close_connection(std::move(c));
        waiting_count_.store(0);
        return;
      }
      if (now >= next_sweep) {  // deadlines, ten times a second
        next_sweep = now + std::chrono::milliseconds(100);
        for (auto it = waiting.begin(); it != waiting.end();) {
          if (it->second->deadline > now) {
            ++it;
            continue;
          }
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->first, nullptr);
          if (it->second->head_started) {
            refuse(std::move(it->second), GateRefusal::kHeadTimeout);
          } else {
            close_connection(std::move(it->second));  // idle: nothing was asked
          }
          it = waiting.erase(it);
        }
      }
      waiting_count_.store(static_cast<std::int64_t>(waiting.size()));
    }
  }

  enum class Progress { kWaiting, kHead, kClosed, kTooLarge };

  Progress receive(Connection& c, Clock::time_point now) const {
    std::array<char, kReadChunk> chunk{};
    for (;;) {
      const ssize_t n = ::recv(c.fd, chunk.data(), chunk.size(), 0);
      if (n == 0) return Progress::kClosed;
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? Progress::kWaiting : Progress::kClosed;
      }
      if (!c.head_started) {
        c.head_started = true;
        c.deadline = now + options_.head_timeout;
      }
      c.pending.append(chunk.data(), static_cast<std::size_t>(n));
      if (head_complete(c)) return Progress::kHead;
      if (c.pending.size() > options_.max_head_bytes) return Progress::kTooLarge;
    }
  }

  void to_request_threads(std::unique_ptr<Connection> c) {
    {
      std::lock_guard lock(mutex_);
      ready_.push_back(std::move(c));
    }
    ready_cv_.notify_one();
  }

  // A request thread: runs requests whose head has arrived, until drain() and no such request is left.
  void request_loop() {
    for (;;) {
      std::unique_ptr<Connection> c;
      {
        std::unique_lock lock(mutex_);
        // Past drain(), a request thread ends once the event thread has (nothing more can become ready)
        // and nothing ready is left.
        ready_cv_.wait(lock, [this] { return !ready_.empty() || events_ended_; });
        if (ready_.empty()) return;
        c = std::move(ready_.front());
        ready_.pop_front();
      }
      serve(std::move(c));
    }
  }

  void serve(std::unique_ptr<Connection> c) {
    for (;;) {
      bool stopping = false;
      {
        std::lock_guard lock(mutex_);
        stopping = stopping_;
      }
      bool closed = false;
      bool ok = false;
      {
        GateStream stream(*c, options_);
        ok = server_.serve_one(stream, stopping, closed);
      }
      if (!ok || closed || stopping) {
        close_connection(std::move(c));
        return;
      }
      c->scanned = 0;
      if (head_complete(*c)) continue;  // the client sent its next request already (pipelining)
      c->head_started = !c->pending.empty();
      c->deadline = Clock::now() + (c->head_started ? options_.head_timeout : options_.idle_timeout);
      to_event_thread(std::move(c));
      return;
    }
  }

  GatedHttpServer& server_;
  GateOptions options_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool started_ = false;
  std::thread event_thread_;
  std::vector<std::thread> workers_;

  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable ready_cv_;
  bool stopping_ = false;
  bool events_ended_ = false;
  std::vector<std::unique_ptr<Connection>> incoming_;  // to the event thread
  std::deque<std::unique_ptr<Connection>> ready_;      // whole heads, to the request threads
  std::unordered_map<std::string, int> per_client_;    // open connections by client address

  std::atomic<std::int64_t> open_{0};
  std::atomic<std::int64_t> waiting_count_{0};
};

GatedHttpServer::GatedHttpServer(GateOptions options) : gate_(std::make_unique<Gate>(*this, options)) {
  new_task_queue = [] { return new InlineQueue; };
}

GatedHttpServer::~GatedHttpServer() = default;

void GatedHttpServer::on_refusal(std::function<void(GateRefusal)> callback) {
  gate_->on_refusal = std::move(callback);
}

bool GatedHttpServer::start() {
  return gate_->start();
}

void GatedHttpServer::drain() {
  gate_->drain();
}

GateCounts GatedHttpServer::counts() const {
  return gate_->counts();
}

bool GatedHttpServer::process_and_close_socket(socket_t sock) {
  gate_->admit(sock);
  return true;
}

bool GatedHttpServer::serve_one(httplib::Stream& stream, bool close_connection, bool& connection_closed) {
  return process_request(stream, close_connection, connection_closed, nullptr);
}

}  // namespace visearch::server
