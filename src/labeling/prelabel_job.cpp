#include "labeling/prelabel_job.h"

#include <chrono>

#include "core/background.h"

namespace visearch::labeling {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

PrelabelJob::PrelabelJob(LabelProject& project, std::string model, DetectorFactory factory,
                         LabelMapping mapping)
    : project_(project),
      model_(std::move(model)),
      factory_(std::move(factory)),
      mapping_(std::move(mapping)) {
  progress_.model = model_;
}

PrelabelJob::~PrelabelJob() {
  cancel();
  if (thread_.joinable()) thread_.join();
}

Status PrelabelJob::start(const PrelabelOptions& options) {
  std::lock_guard lock(mutex_);
  if (running_) return Unexpected{ErrorCode::kUnavailable, "a pre-label job is already running"};
  if (thread_.joinable()) thread_.join();  // the previous run has finished
  std::vector<std::string> ids = project_.ids_with_status(ImageStatus::kUnlabelled);
  cancel_.store(false);
  progress_ = JobProgress{};
  progress_.state = "running";
  progress_.model = model_;
  progress_.total = ids.size();
  progress_.started_at = utc_now();
  running_ = true;
  thread_ = std::thread([this, ids = std::move(ids), options]() mutable { run(ids, options); });
  return ok_status();
}

void PrelabelJob::cancel() {
  cancel_.store(true);
}

JobProgress PrelabelJob::progress() const {
  std::lock_guard lock(mutex_);
  return progress_;
}

bool PrelabelJob::wait_idle(int timeout_ms) const {
  std::unique_lock lock(mutex_);
  return finished_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return !running_; });
}

void PrelabelJob::run(const std::vector<std::string>& ids, PrelabelOptions options) {
  lower_this_thread_priority();
  const auto started = Clock::now();
  const auto finish = [&](const std::string& state, const std::string& error) {
    std::lock_guard lock(mutex_);
    progress_.state = state;
    if (!error.empty()) progress_.error = error;
    progress_.finished_at = utc_now();
    progress_.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    running_ = false;
    finished_.notify_all();
  };
  if (!detector_) {
    auto made = factory_();
    if (!made) return finish("failed", "cannot load model " + model_ + ": " + made.error().message);
    detector_ = std::move(*made);
  }
  for (const std::string& id : ids) {
    if (cancel_.load()) return finish("cancelled", "");
    std::size_t found = 0;
    std::string failure;
    auto path = project_.image_path(id);
    if (!path) {
      failure = path.error().message;
    } else if (auto result = propose_file(*detector_, *path, mapping_, options); !result) {
      failure = result.error().message;
    } else {
      found = result->proposals.size();
      if (auto stored = project_.set_proposals(id, std::move(result->proposals), model_, true); !stored) {
        failure = stored.error().message;
      }
    }
    std::lock_guard lock(mutex_);
    ++progress_.done;
    progress_.proposals += found;
    if (!failure.empty()) {
      ++progress_.failed;
      progress_.error = failure;
    }
    progress_.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  }
  finish("done", "");
}

}  // namespace visearch::labeling
