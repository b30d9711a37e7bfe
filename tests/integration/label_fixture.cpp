#include "label_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "server_fixture.h"

namespace visearch::testing {

namespace fs = std::filesystem;

LabelServer::LabelServer(std::vector<std::string> args) {
  port_ = free_port();
  log_path_ = "/tmp/visearch_label_test_" + std::to_string(::getpid()) + "_" + std::to_string(port_) + ".log";
  std::vector<std::string> argv_text{VISEARCH_BINARY, "label",  "--host",
                                     "127.0.0.1",     "--port", std::to_string(port_)};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    FILE* log = std::fopen(log_path_.c_str(), "w");
    if (log != nullptr) ::dup2(fileno(log), STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& a : argv_text) argv.push_back(a.data());
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
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      early_exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

LabelServer::~LabelServer() {
  terminate(5000);
  std::remove(log_path_.c_str());
}

httplib::Client LabelServer::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(60, 0);
  return c;
}

int LabelServer::terminate(int timeout_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

std::string LabelServer::log() const {
  return read_file(log_path_);
}

ScratchDir::ScratchDir() {
  std::string templ = (fs::temp_directory_path() / "visearch_label_it_XXXXXX").string();
  char* made = ::mkdtemp(templ.data());
  path_ = made != nullptr ? fs::path(made) : fs::path(templ);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void copy_coco128_images(const fs::path& dir, const std::string& sub, const std::vector<std::string>& stems) {
  const fs::path source =
      fs::path(VISEARCH_SHARED_DIR) / "data" / "coco128-train2017" / "images" / "train2017";
  fs::create_directories(dir / sub);
  for (const std::string& stem : stems) fs::copy_file(source / (stem + ".jpg"), dir / sub / (stem + ".jpg"));
}

std::string file_text(const fs::path& path) {
  return read_file(path.string());
}

std::string tree_snapshot(const fs::path& dir) {
  std::vector<std::string> lines;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    lines.push_back(entry.path().lexically_relative(dir).generic_string() + "\n" +
                    read_file(entry.path().string()));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += l + "\n--\n";
  return out;
}

}  // namespace visearch::testing
