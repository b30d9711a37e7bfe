// Starts the real `visearch serve` as a child process on a free loopback port
// and stops it (SIGTERM) when the fixture goes away.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace visearch::testing {

class ServerProcess {
 public:
  // Extra flags for `visearch serve`; --host/--port are added.
  explicit ServerProcess(std::vector<std::string> flags);
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

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
  std::string log_path_;
};

std::string read_file(const std::string& path);
std::string sample(const std::string& name);  // path of ../shared/data/samples/<name>
int free_port();
std::string base64(const std::string& bytes);  // standard alphabet, padded

}  // namespace visearch::testing
