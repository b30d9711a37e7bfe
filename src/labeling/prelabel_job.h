// PrelabelJob: "pre-label all unlabelled images" as a background job with progress.
//
// The job runs on its own thread with its own Detector (made once by the factory, on that thread), so it
// never holds the server's inference workers: interactive requests keep their latency, and the job can be
// stopped at any time without touching the server. The thread runs at a lower CPU priority (nice +10).
// It takes the images whose status is unlabelled when it starts, runs propose_file() on each and stores
// the proposals (LabelProject::set_proposals, only if the image is still unlabelled). A failure on one
// image (unreadable file) is counted and the job goes on; a detector that cannot be made fails the job.
//
// States: idle -> running -> done | cancelled | failed. One job at a time: start() while running is
// refused (kUnavailable). The destructor cancels and joins (at most one image's detection).
//
// Thread-safety: all methods may be called concurrently from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "labeling/label_map.h"
#include "labeling/label_project.h"
#include "labeling/prelabel.h"
#include "model/detector.h"

namespace visearch::labeling {

struct JobProgress {
  std::string state = "idle";  // idle, running, done, cancelled, failed
  std::string model;
  std::size_t total = 0;
  std::size_t done = 0;  // images processed (ok or failed)
  std::size_t failed = 0;
  std::size_t proposals = 0;
  std::string started_at;
  std::string finished_at;
  std::string error;   // why the job failed, or the last per-image failure
  double seconds = 0;  // running time so far
};

class PrelabelJob {
 public:
  using DetectorFactory = std::function<Result<std::unique_ptr<Detector>>()>;

  PrelabelJob(LabelProject& project, std::string model, DetectorFactory factory, LabelMapping mapping);
  ~PrelabelJob();
  PrelabelJob(const PrelabelJob&) = delete;
  PrelabelJob& operator=(const PrelabelJob&) = delete;
  PrelabelJob(PrelabelJob&&) = delete;
  PrelabelJob& operator=(PrelabelJob&&) = delete;

  // Starts a run over the images unlabelled now. kUnavailable while one is running.
  Status start(const PrelabelOptions& options = {});
  // Asks a running job to stop after the current image; returns at once.
  void cancel();
  [[nodiscard]] JobProgress progress() const;
  // Blocks until no job runs (tests); false on timeout.
  bool wait_idle(int timeout_ms) const;

 private:
  void run(const std::vector<std::string>& ids, PrelabelOptions options);

  LabelProject& project_;
  std::string model_;
  DetectorFactory factory_;
  LabelMapping mapping_;
  std::unique_ptr<Detector> detector_;  // made on the job thread, kept for later runs
  std::thread thread_;
  std::atomic<bool> cancel_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable finished_;
  JobProgress progress_;
  bool running_ = false;
};

}  // namespace visearch::labeling
