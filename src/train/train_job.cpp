#include "train/train_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/background.h"

namespace visearch::train {

TrainJob::~TrainJob() {
  stop();
  if (thread_.joinable()) thread_.join();
}

Status TrainJob::start(TrainOptions options) {
  const std::lock_guard lock(mutex_);
  if (running_) return Unexpected{ErrorCode::kUnavailable, "a training run is already going on"};
  // The previous run has ended: reap its thread here, under the lock, so that concurrent callers never
  // join it twice or join it while another assigns the next run to thread_. The wait is short and cannot
  // deadlock: running_ went false in the run's last locked step, after which it only returns.
  if (thread_.joinable()) thread_.join();
  running_ = true;
  stop_.store(false);
  progress_ = TrainProgress{};
  progress_.state = "running";
  progress_.name = options.name;
  progress_.started_at = utc_now();
  thread_ = std::thread([this, options = std::move(options)]() mutable { run(std::move(options)); });
  return ok_status();
}

void TrainJob::stop() {
  stop_.store(true);
  const std::lock_guard lock(mutex_);
  if (running_) progress_.state = "stopping";
}

TrainProgress TrainJob::progress() const {
  const std::lock_guard lock(mutex_);
  return progress_;
}

void TrainJob::run(TrainOptions options) {
  // Below the HTTP and inference threads: the person labelling keeps a responsive tool.
  lower_this_thread_priority();
  const auto started = std::chrono::steady_clock::now();
  options.stop = &stop_;
  TrainCallbacks callbacks;
  callbacks.message = [this](const std::string& text) {
    const std::lock_guard lock(mutex_);
    progress_.messages.push_back(text);
  };
  callbacks.epoch = [this, started](const EpochRecord& record) {
    const std::lock_guard lock(mutex_);
    progress_.epochs.push_back(record);
    progress_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  Result<TrainReport> report = run_training(options, callbacks);
  const std::lock_guard lock(mutex_);
  progress_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  progress_.finished_at = utc_now();
  if (!report) {
    progress_.state = "failed";
    progress_.error = report.error().message;
  } else {
    progress_.state = report->finished ? "finished" : "stopped";
    progress_.report = std::move(*report);
  }
  running_ = false;
}

nlohmann::json progress_to_json(const TrainProgress& progress) {
  nlohmann::json history = nlohmann::json::array();
  double best_ap = 0;
  for (const EpochRecord& record : progress.epochs) {
    history.push_back(to_json(record));
    best_ap = std::max(best_ap, record.ap);
  }
  nlohmann::json body{{"state", progress.state},
                      {"name", progress.name},
                      {"started_at", progress.started_at},
                      {"finished_at", progress.finished_at},
                      {"seconds", std::round(progress.seconds * 10) / 10},
                      {"messages", progress.messages},
                      {"history", history},
                      {"best_ap", best_ap}};
  if (!progress.epochs.empty()) {
    const EpochRecord& last = progress.epochs.back();
    body["epoch"] = last.epoch;
    body["epochs"] = last.epochs;
    body["loss"] = last.loss;
    body["ap"] = last.ap;
    body["ap50"] = last.ap50;
    body["eta_s"] = progress.state == "running" ? std::round(last.eta_s) : 0.0;
  }
  if (!progress.error.empty()) body["error"] = progress.error;
  if (!progress.report.model_dir.empty()) {
    body["model"] = {{"dir", progress.report.model_dir}, {"spec", progress.report.spec_path}};
    body["metrics"] = progress.report.metrics;
  }
  if (!progress.report.partial_dir.empty()) body["partial_dir"] = progress.report.partial_dir;
  return body;
}

}  // namespace visearch::train
