// Shared set-up of the visual-search integration tests: a small real catalog built once per test process
// with the real binary (`visearch catalog demo` + `visearch catalog import`), child processes that can be
// killed, and raw HTTP for requests a client library would normalise.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace visearch::testing {

struct SearchCatalog {
  std::string root;      // temporary folder holding everything below
  std::string demo_dir;  // products.jsonl, images/ and the batch files
  std::string batch_a;   // JSON Lines of batch A (imported into data_a)
  std::string batch_b;   // JSON Lines of batch B (other products, not imported)
  std::string data_a;    // a catalog holding batch A; copy it before changing it
  std::set<std::string> ids_a;
  std::set<std::string> ids_b;
  std::map<std::string, std::string> category_of;  // product id -> category
};

// Built on first use (a few seconds); aborts the test process when the binary fails.
const SearchCatalog& search_catalog();

// A fresh copy of a catalog folder under the test root; returns its path.
std::string copy_catalog(const std::string& from, const std::string& name);
// A new empty folder under the test root.
std::string scratch_dir(const std::string& name);

// The JSON header of a catalog's adaptation file (search/adaptation.h: magic, length, JSON): generation,
// report with its settings. An empty object when the file is missing or unreadable.
std::string adaptation_header_json(const std::string& path);

// Runs the visearch binary with `args` (already shell-quoted), returns its exit status; stdout/stderr
// are captured into *out / *err when given. `env` is prepended (e.g. "VAR=1 ").
int run_visearch(const std::string& args, std::string* out = nullptr, std::string* err = nullptr,
                 const std::string& env = "");

// A child process running the visearch binary with stderr to a file; killed on destruction.
class VisearchChild {
 public:
  VisearchChild(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);
  ~VisearchChild();
  VisearchChild(const VisearchChild&) = delete;
  VisearchChild& operator=(const VisearchChild&) = delete;
  // Waits until stderr contains `text` (true) or the process exits / the timeout passes (false).
  bool wait_for_stderr(const std::string& text, int timeout_ms);
  void kill_hard();          // SIGKILL, then reaps
  int wait(int timeout_ms);  // exit status, -1 on a signal or timeout
  [[nodiscard]] std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  std::string err_path_;
};

// Sends `request` verbatim to 127.0.0.1:port and returns the whole response (status line, headers, body).
std::string raw_http(int port, const std::string& request);

// PRAGMA integrity_check of a catalog database ("ok" when sound).
std::string integrity_check(const std::string& data_dir);

}  // namespace visearch::testing
