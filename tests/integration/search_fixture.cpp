#include "search_fixture.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../golden/cli_runner.h"
#include "server_fixture.h"

namespace visearch::testing {
namespace {

namespace fs = std::filesystem;

// Objects of batch A: what the sample photos show, so searches have right answers in the catalog.
const std::set<std::string> kLabelsA = {"cup",    "dining table", "laptop", "tv",  "keyboard", "bowl",
                                        "bottle", "chair",        "bus",    "dog", "book",     "person"};
constexpr std::size_t kMaxBatchB = 12;

// This process's scratch folder (catalog copies, captured output); removed at exit.
struct ScratchRoot {
  std::string path;
  ScratchRoot() {
    const fs::path dir = fs::temp_directory_path() / ("visearch_search_it_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    path = dir.string();
  }
  ~ScratchRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  ScratchRoot(const ScratchRoot&) = delete;
  ScratchRoot& operator=(const ScratchRoot&) = delete;
};

std::string root_dir() {
  static const ScratchRoot root;
  return root.path;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "search fixture: %s\n", what.c_str());
  std::abort();
}

// The catalog is built once per build of the binary and shared by every test process (ctest runs each
// test in its own process, possibly in parallel): under a lock, in a folder named after the binary's
// size and modification time.
std::string shared_catalog_dir() {
  struct stat info {};
  if (::stat(VISEARCH_BINARY, &info) != 0) fail("cannot stat " + std::string(VISEARCH_BINARY));
  const std::string signature = std::to_string(info.st_size) + "_" + std::to_string(info.st_mtim.tv_sec) +
                                "_" + std::to_string(info.st_mtim.tv_nsec);
  return (fs::path(VISEARCH_SEARCH_FIXTURE_DIR) / signature).string();
}

SearchCatalog describe_catalog(const std::string& dir) {
  SearchCatalog c;
  c.root = root_dir();
  c.demo_dir = (fs::path(dir) / "demo").string();
  c.batch_a = (fs::path(c.demo_dir) / "batch_a.jsonl").string();
  c.batch_b = (fs::path(c.demo_dir) / "batch_b.jsonl").string();
  c.data_a = (fs::path(dir) / "data_a").string();
  for (const auto& [path, ids] : {std::pair{c.batch_a, &c.ids_a}, std::pair{c.batch_b, &c.ids_b}}) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json p = nlohmann::json::parse(line);
      ids->insert(p.at("id").get<std::string>());
      c.category_of[p.at("id")] = p.at("category");
    }
  }
  return c;
}

void build_catalog(const std::string& dir) {
  SearchCatalog c;
  c.demo_dir = (fs::path(dir) / "demo").string();
  std::string out;
  std::string err;
  if (run_visearch("catalog demo --out " + shell_quote(c.demo_dir) + " --shared " +
                       shell_quote(std::string(VISEARCH_SHARED_DIR) + "/data") +
                       " --sources coco128 --max-per-label 2 --min-side 96",
                   &out, &err) != 0) {
    fail("catalog demo failed: " + err);
  }
  std::ifstream all(fs::path(c.demo_dir) / "products.jsonl");
  std::ofstream a(fs::path(c.demo_dir) / "batch_a.jsonl");
  std::ofstream b(fs::path(c.demo_dir) / "batch_b.jsonl");
  std::string line;
  while (std::getline(all, line)) {
    const nlohmann::json p = nlohmann::json::parse(line);
    const std::string id = p.at("id");
    const std::string object = p.at("attributes").at("object");
    c.category_of[id] = p.at("category");
    if (kLabelsA.count(object) != 0) {
      a << line << '\n';
      c.ids_a.insert(id);
    } else if (c.ids_b.size() < kMaxBatchB) {
      b << line << '\n';
      c.ids_b.insert(id);
    }
  }
  a.close();
  b.close();
  const std::string batch_a = (fs::path(c.demo_dir) / "batch_a.jsonl").string();
  if (run_visearch("catalog import " + shell_quote(batch_a) + " --data-dir " + shell_quote(dir + "/data_a") +
                       " --format json",
                   &out, &err) != 0) {
    fail("catalog import failed: " + err);
  }
  std::ofstream(fs::path(dir) / "ready") << "ok\n";
}

}  // namespace

const SearchCatalog& search_catalog() {
  static const SearchCatalog catalog = [] {
    const std::string dir = shared_catalog_dir();
    std::error_code ec;
    fs::create_directories(VISEARCH_SEARCH_FIXTURE_DIR, ec);
    const std::string lock_path = std::string(VISEARCH_SEARCH_FIXTURE_DIR) + "/lock";
    const int lock = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) fail("cannot lock " + lock_path);
    if (!fs::exists(fs::path(dir) / "ready")) {
      for (const auto& old : fs::directory_iterator(VISEARCH_SEARCH_FIXTURE_DIR, ec)) {
        if (old.is_directory()) fs::remove_all(old.path(), ec);  // catalogs of older binaries
      }
      fs::create_directories(dir);
      build_catalog(dir);
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
    return describe_catalog(dir);
  }();
  return catalog;
}

std::string scratch_dir(const std::string& name) {
  const fs::path dir = fs::path(root_dir()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string copy_catalog(const std::string& from, const std::string& name) {
  const fs::path dir = fs::path(root_dir()) / name;
  fs::remove_all(dir);
  fs::copy(from, dir, fs::copy_options::recursive);
  return dir.string();
}

int run_visearch(const std::string& args, std::string* out, std::string* err, const std::string& env) {
  static int counter = 0;
  const std::string err_path = root_dir() + "/stderr_" + std::to_string(counter++);
  const std::string cmd = env + std::string(VISEARCH_BINARY) + " " + args + " 2>" + shell_quote(err_path);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  std::array<char, 4096> buf{};
  std::size_t got = 0;
  while ((got = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) text.append(buf.data(), got);
  const int status = ::pclose(pipe);
  if (out != nullptr) *out = text;
  const std::string err_text = read_file(err_path);
  expect_no_sanitizer_report(err_text, "visearch " + args);
  if (err != nullptr) *err = err_text;
  std::remove(err_path.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

VisearchChild::VisearchChild(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  static int counter = 0;
  err_path_ = root_dir() + "/child_" + std::to_string(counter++) + ".err";
  std::vector<std::string> argv_text{VISEARCH_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    FILE* log = std::fopen(err_path_.c_str(), "w");
    if (log != nullptr) ::dup2(fileno(log), STDERR_FILENO);
    FILE* null_out = std::fopen("/dev/null", "w");
    if (null_out != nullptr) ::dup2(fileno(null_out), STDOUT_FILENO);
    for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> argv;
    for (std::string& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

VisearchChild::~VisearchChild() {
  if (pid_ > 0) kill_hard();
}

bool VisearchChild::wait_for_stderr(const std::string& text, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (stderr_text().find(text) != std::string::npos) return true;
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      expect_no_sanitizer_report(stderr_text(), "a visearch child");
      return stderr_text().find(text) != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void VisearchChild::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  expect_no_sanitizer_report(stderr_text(), "a visearch child");
}

int VisearchChild::wait(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      expect_no_sanitizer_report(stderr_text(), "a visearch child");
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string VisearchChild::stderr_text() const {
  return read_file(err_path_);
}

std::string raw_http(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {  // NOLINT
    ::close(fd);
    return {};
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, 0);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string response;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    response.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return response;
}

std::string integrity_check(const std::string& data_dir) {
  sqlite3* db = nullptr;
  const std::string path = data_dir + "/catalog.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open " + path;
  }
  std::string result;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));  // NOLINT
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

std::string adaptation_header_json(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() <= 12U) return "{}";
  std::uint32_t length = 0;
  std::memcpy(&length, bytes.data() + 8, sizeof length);
  if (length > bytes.size() - 12U) return "{}";
  return bytes.substr(12, length);
}

}  // namespace visearch::testing
