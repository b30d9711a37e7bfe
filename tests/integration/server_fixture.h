// Starts the real `visearch serve` (or another subcommand that serves HTTP with /ping, such as `label`)
// as a child process on a free loopback port and stops it (SIGTERM) when the fixture goes away.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace visearch::testing {

class ServerProcess {
 public:
  // What the constructor waits for: /ping answering 200 (models loaded), or answering at all (listening,
  // models possibly still loading; ready() then says whether it was 200).
  enum class Wait { kReady, kListening };
  // Extra flags for `visearch serve`; --host/--port are added.
  explicit ServerProcess(std::vector<std::string> flags, Wait wait = Wait::kReady)
      : ServerProcess("serve", std::move(flags), wait) {}
  // `visearch SUBCOMMAND ARGS... --host 127.0.0.1 --port P`. Waits until /ping answers 200 (or answers,
  // see Wait) or the process exits (see early_exit()).
  ServerProcess(const std::string& subcommand, std::vector<std::string> args, Wait wait = Wait::kReady);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] httplib::Client client() const;
  // Sends SIGTERM and waits; returns the exit status (or -1 on a signal death / timeout).
  int terminate(int timeout_ms = 20000);
  [[nodiscard]] std::string log() const;
  // The exit status when the process ended during start-up, else -1.
  [[nodiscard]] int early_exit() const { return early_exit_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
  int early_exit_ = -1;
  std::string log_path_;
};

// What came back on a raw connection (see send_chunked).
struct RawReply {
  int status = 0;        // 0: no status line came back
  std::string head;      // status line and headers
  std::string body;      // as far as Content-Length says
  bool closed = false;   // the server closed the connection after the reply
  std::size_t sent = 0;  // body bytes written to the socket before the server stopped reading
};

// Sends `METHOD PATH` with `headers` and a chunked body (64 KiB chunks) on a raw loopback socket: `bytes`
// when not empty, else `total` bytes of 'x'. The reply is read while sending, so a server that answers
// before reading the whole body never blocks the test.
RawReply send_chunked(int port, const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers, std::size_t total,
                      const std::string& bytes = "");

// Peak resident memory (VmHWM) of a process, in bytes; 0 when unknown.
std::size_t peak_rss_bytes(pid_t pid);

// Fails the running test when a child's stderr holds a ThreadSanitizer report (the tsan preset runs the
// integration tests against a TSan build of the binary): a server's log is otherwise deleted unread, and a
// report while it drains after SIGTERM would change nothing the test looks at. `what` names the child.
void expect_no_sanitizer_report(const std::string& stderr_text, const std::string& what);

std::string read_file(const std::string& path);
std::string sample(const std::string& name);  // path of ../shared/data/samples/<name>
int free_port();
std::string base64(const std::string& bytes);  // standard alphabet, padded

}  // namespace visearch::testing
