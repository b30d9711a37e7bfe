#include "server_fixture.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace visearch::testing {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // NOLINT
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);  // NOLINT
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

RawReply send_chunked(int port, const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers, std::size_t total,
                      const std::string& bytes) {
  RawReply reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {  // NOLINT
    ::close(fd);
    return reply;
  }
  timeval timeout{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  head += "\r\n";
  std::atomic<std::size_t> sent{0};
  std::thread sender([&] {
    const auto send_all = [fd](const char* data, std::size_t size) {
      while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
      }
      return true;
    };
    if (!send_all(head.data(), head.size())) return;
    const std::string filler(64U << 10U, 'x');
    const std::size_t size = bytes.empty() ? total : bytes.size();
    for (std::size_t offset = 0; offset < size;) {
      const std::size_t n = std::min(filler.size(), size - offset);
      const char* data = bytes.empty() ? filler.data() : bytes.data() + offset;
      char line[32];
      std::snprintf(line, sizeof line, "%zx\r\n", n);
      if (!send_all(line, std::strlen(line)) || !send_all(data, n) || !send_all("\r\n", 2)) return;
      offset += n;
      sent.store(offset);
    }
    send_all("0\r\n\r\n", 5);
  });
  std::string in;
  char buffer[4096];
  std::size_t body_start = std::string::npos;
  std::size_t length = 0;
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0) reply.closed = true;
    if (n <= 0) break;
    in.append(buffer, static_cast<std::size_t>(n));
    if (body_start == std::string::npos && (body_start = in.find("\r\n\r\n")) != std::string::npos) {
      body_start += 4;
      reply.head = in.substr(0, body_start);
      std::string lower = reply.head;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (const auto at = lower.find("content-length:"); at != std::string::npos) {
        length = std::stoul(lower.substr(at + 15));
      }
    }
    if (body_start != std::string::npos && in.size() >= body_start + length) {
      reply.body = in.substr(body_start, length);
      // Did the server close the connection after the reply? A kept-alive one stays silent (for up to the
      // server's keep-alive timeout, 2 s).
      timeval short_wait{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof short_wait);
      const ssize_t more = ::recv(fd, buffer, sizeof buffer, 0);
      reply.closed = more == 0 || (more < 0 && errno == ECONNRESET);
      break;
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  sender.join();
  ::close(fd);
  reply.sent = sent.load();
  if (reply.head.starts_with("HTTP/1.1 ")) reply.status = std::atoi(reply.head.c_str() + 9);
  return reply;
}

std::size_t peak_rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmHWM:")) return std::stoul(line.substr(6)) * 1024U;
  }
  return 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void expect_no_sanitizer_report(const std::string& stderr_text, const std::string& what) {
  const std::size_t at = stderr_text.find("ThreadSanitizer");
  if (at == std::string::npos) return;
  // The report starts at the "==PID==" separator line before its first mention of the sanitizer.
  const std::size_t line = stderr_text.rfind("\n==", at);
  const std::size_t from = line == std::string::npos ? 0 : line + 1;
  ADD_FAILURE() << what << " reported a ThreadSanitizer warning:\n" << stderr_text.substr(from);
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),  // NOLINT
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string sample(const std::string& name) {
  return std::string(VISEARCH_SHARED_DIR) + "/data/samples/" + name;
}

ServerProcess::ServerProcess(const std::string& subcommand, std::vector<std::string> flags, Wait wait) {
  port_ = free_port();
  log_path_ = "/tmp/visearch_" + subcommand + "_test_" + std::to_string(::getpid()) + "_" +
              std::to_string(port_) + ".log";
  std::vector<std::string> args{VISEARCH_BINARY, subcommand, "--host",
                                "127.0.0.1",     "--port",   std::to_string(port_)};
  args.insert(args.end(), flags.begin(), flags.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    FILE* log = std::fopen(log_path_.c_str(), "w");
    if (log != nullptr) ::dup2(fileno(log), STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  httplib::Client c("127.0.0.1", port_);
  c.set_connection_timeout(0, 200000);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto res = c.Get("/ping");
    if (res && res->status == 200) {
      ready_ = true;
      return;
    }
    if (res && wait == Wait::kListening) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      early_exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      expect_no_sanitizer_report(log(), "visearch " + subcommand);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

ServerProcess::~ServerProcess() {
  terminate(5000);
  std::remove(log_path_.c_str());
}

httplib::Client ServerProcess::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(60, 0);
  return c;
}

int ServerProcess::terminate(int timeout_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  int code = -1;
  bool exited = false;
  while (!exited && std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited = true;
      code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (!exited) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  expect_no_sanitizer_report(log(), "the server");
  return code;
}

std::string ServerProcess::log() const {
  return read_file(log_path_);
}

}  // namespace visearch::testing
