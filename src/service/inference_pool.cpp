#include "service/inference_pool.h"

namespace visearch {

InferencePool::InferencePool(std::size_t workers, std::size_t queue_capacity) : capacity_(queue_capacity) {
  VISEARCH_ASSERT(workers > 0, "an inference pool needs at least one worker");
  threads_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this, i] { run_worker(i); });
}

InferencePool::~InferencePool() {
  shutdown();
}

Result<InferencePool::Ticket> InferencePool::submit(Job job, Clock::time_point deadline,
                                                    Completion completion) {
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) return Unexpected{ErrorCode::kUnavailable, "the server is shutting down"};
    // Jobs waiting for a free worker are bounded by the queue capacity.
    const std::size_t idle = threads_.size() - std::min(threads_.size(), busy_.load());
    if (queue_.size() >= capacity_ + idle) {
      return Unexpected{ErrorCode::kUnavailable,
                        "inference queue is full (" + std::to_string(capacity_) + " waiting); retry later"};
    }
    queue_.push_back(Entry{std::move(job), std::move(completion), Clock::now(), deadline, cancelled});
  }
  ready_.notify_one();
  return Ticket{cancelled};
}

std::size_t InferencePool::queue_depth() const {
  const std::lock_guard lock(mutex_);
  return queue_.size();
}

void InferencePool::run_worker(std::size_t index) {
  for (;;) {
    Entry entry;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      entry = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    const auto now = Clock::now();
    const bool skipped = entry.cancelled->load() || now > entry.deadline;
    entry.job(index, now - entry.enqueued, skipped);
    --busy_;
    if (entry.completion) entry.completion(!skipped);
  }
}

void InferencePool::shutdown() {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

}  // namespace visearch
