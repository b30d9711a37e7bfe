// TrainJob: run_training() as a background job with live progress, for the labelling tool's Train action.
//
//   TrainJob job;
//   job.start(options);            // kUnavailable while a run is going on
//   job.progress();                // state, epoch, loss, val AP, ETA, the epochs so far, the result
//   job.stop();                    // the run stops after its current step with a checkpoint
//
// States: idle -> running -> finished | stopped | failed. A stopped run leaves OUT/.NAME.partial (which
// `visearch train --resume` continues); a failed one its error. The training thread runs at a lower CPU
// priority (nice +10) so the tool's own requests stay responsive. The destructor stops and joins.
//
// Thread-safety: every method may be called concurrently from any thread.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "train/trainer.h"

namespace visearch::train {

struct TrainProgress {
  std::string state = "idle";  // idle, running, stopping, finished, stopped, failed
  std::string name;            // the model being trained
  std::string started_at;
  std::string finished_at;
  double seconds = 0;
  std::vector<std::string> messages;  // notices from the run (hold-out split, ...)
  std::vector<EpochRecord> epochs;    // one per finished epoch
  std::string error;                  // why it failed
  TrainReport report;                 // set when finished or stopped
};

class TrainJob {
 public:
  TrainJob() = default;
  ~TrainJob();
  TrainJob(const TrainJob&) = delete;
  TrainJob& operator=(const TrainJob&) = delete;
  TrainJob(TrainJob&&) = delete;
  TrainJob& operator=(TrainJob&&) = delete;

  // Starts a run. kUnavailable while one is running; options are checked by the run itself (a bad one
  // ends the job as failed, with run_training's message).
  Status start(TrainOptions options);
  // Asks a running job to stop at its next step; returns at once.
  void stop();
  [[nodiscard]] TrainProgress progress() const;

 private:
  void run(TrainOptions options);

  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  TrainProgress progress_;
  bool running_ = false;
};

// {"state", "name", "epoch", "epochs", "loss", "ap", "ap50", "best_ap", "eta_s", "seconds", "history": [...],
//  "messages", "error", "model": {"name", "dir", "spec"} , "metrics": metrics.json} (see docs/labelling.md).
nlohmann::json progress_to_json(const TrainProgress& progress);

}  // namespace visearch::train
