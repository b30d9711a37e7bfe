// Starts the real `visearch label DATASET_DIR` as a child process on a free loopback port and stops it
// (SIGTERM) when the fixture goes away; plus temporary data-set folders made from coco128 photos.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace visearch::testing {

class LabelServer {
 public:
  // `args`: the data-set folder and flags after `visearch label`; --host/--port are added. Waits until
  // /ping answers 200 (the detector is loaded) or the process exits.
  explicit LabelServer(std::vector<std::string> args);
  ~LabelServer();
  LabelServer(const LabelServer&) = delete;
  LabelServer& operator=(const LabelServer&) = delete;

  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] httplib::Client client() const;
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

class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Copies coco128 images (by stem) into `dir`/`sub`.
void copy_coco128_images(const std::filesystem::path& dir, const std::string& sub,
                         const std::vector<std::string>& stems);
std::string file_text(const std::filesystem::path& path);
// Every file under `dir` with its bytes (sorted), to show that nothing was written.
std::string tree_snapshot(const std::filesystem::path& dir);

}  // namespace visearch::testing
