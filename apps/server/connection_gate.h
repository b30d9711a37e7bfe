// The connection gate: who holds a connection while its request head is still arriving.
//
// httplib gives each accepted connection a pool thread that reads the request head with a per-read
// timeout, so a client that sends one byte a second holds a thread for as long as it likes: a few hundred
// of them starved /ping and /v1/detect for 27-30 s. Here a single event thread (epoll) holds every
// connection that is waiting for a request: a new one, a kept-alive one between requests, one whose head
// is half sent. Only a connection whose whole head has arrived goes to a request thread, which runs
// httplib's own request processing on it (routing, body reading, handlers, the response) and hands it
// back to the event thread for the next request.
//
// The limits, all per connection unless said otherwise:
//   - the whole request head must arrive within head_timeout of its first byte (or of the connect): else
//     408 and close; an idle kept-alive connection is closed after idle_timeout;
//   - a head larger than max_head_bytes: 431 and close;
//   - a body must keep arriving: each read waits at most io_timeout, and after the first io_timeout the
//     body must have averaged min_body_bytes_per_second, else the read fails (httplib answers 400 and
//     closes); a response is held to the same minimum from its first write (a client that does not read
//     its answer cannot keep a request thread either);
//   - at most max_connections open connections, and max_connections_per_client from one client address:
//     beyond, the new connection gets 503 (Retry-After: 1) and is closed.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace visearch::server {

struct GateOptions {
  int request_threads = 32;
  int max_connections = 2048;
  int max_connections_per_client = 256;
  std::chrono::milliseconds head_timeout{10'000};
  std::chrono::milliseconds idle_timeout{5'000};
  std::chrono::milliseconds io_timeout{10'000};
  std::size_t min_body_bytes_per_second = 4096;
  std::size_t max_head_bytes = 64 * 1024;
};

// Why the gate closed a connection before a request thread saw it (metrics label values).
enum class GateRefusal { kTooManyConnections, kTooManyFromClient, kHeadTimeout, kHeadTooLarge };
[[nodiscard]] const char* to_string(GateRefusal refusal);

struct GateCounts {
  std::int64_t open = 0;     // connections held (waiting or running)
  std::int64_t waiting = 0;  // connections the event thread holds (no complete request head yet)
};

// An httplib::Server whose accepted connections go through the gate. Set it up like any httplib::Server
// (routes, handlers, bind_to_port), then start() the gate before listen_after_bind(). To stop: stop() (no
// more accepts; listen_after_bind returns), then drain(), which closes waiting connections, lets the
// request threads finish every request whose head had arrived (answered with Connection: close), and
// joins them.
class GatedHttpServer : public httplib::Server {
 public:
  explicit GatedHttpServer(GateOptions options);
  ~GatedHttpServer() override;
  GatedHttpServer(const GatedHttpServer&) = delete;
  GatedHttpServer& operator=(const GatedHttpServer&) = delete;

  // Called once per refused connection, on the thread that refused it.
  void on_refusal(std::function<void(GateRefusal)> callback);
  // False when the event thread cannot start (epoll or eventfd refused); then the server cannot serve.
  [[nodiscard]] bool start();
  void drain();
  [[nodiscard]] GateCounts counts() const;

 private:
  class Gate;
  friend class Gate;
  // The accept loop calls this once per accepted socket, through a task queue that runs it at once on
  // the accept thread: the socket goes to the event thread. (httplib declares it private and virtual;
  // overriding it is how a subclass takes the socket.)
  bool process_and_close_socket(socket_t sock) override;
  // One request on a connection whose head has arrived; httplib's own processing.
  bool serve_one(httplib::Stream& stream, bool close_connection, bool& connection_closed);

  std::unique_ptr<Gate> gate_;
};

}  // namespace visearch::server
