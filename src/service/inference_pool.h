// InferencePool: a fixed set of worker threads behind a bounded FIFO queue.
// The HTTP layer never runs inference on its own threads; it submits a job and
// waits (with a deadline) for the result.
//
//   InferencePool pool(2, 16);
//   auto ticket = pool.submit([&](std::size_t worker_index) { ... });   // kUnavailable when full
//
// Contract:
//  - submit() never blocks: a full queue is refused at once (kUnavailable), so
//    work never piles up unbounded.
//  - A job receives the index of the worker running it (0..workers-1), so each
//    worker can own its own model sessions.
//  - Each job carries a cancel flag; a job cancelled (or past its deadline)
//    before a worker picks it up is skipped and its callback told so.
//  - shutdown() stops accepting, lets queued and running jobs finish, joins.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/result.h"

namespace visearch {

class InferencePool {
 public:
  using Clock = std::chrono::steady_clock;
  // `worker_index` identifies the worker; `queue_wait` is the time spent queued.
  // `skipped` is true when the job was cancelled or expired before it ran: the
  // job must then only report that, not do the work.
  using Job = std::function<void(std::size_t worker_index, Clock::duration queue_wait, bool skipped)>;
  // Called after the job, once its worker counts as idle again, so a caller
  // woken by it can submit the next job without racing the bookkeeping.
  using Completion = std::function<void(bool ran)>;

  struct Ticket {
    std::shared_ptr<std::atomic<bool>> cancelled;
  };

  InferencePool(std::size_t workers, std::size_t queue_capacity);
  ~InferencePool();
  InferencePool(const InferencePool&) = delete;
  InferencePool& operator=(const InferencePool&) = delete;
  InferencePool(InferencePool&&) = delete;
  InferencePool& operator=(InferencePool&&) = delete;

  // kUnavailable when the queue is full or the pool is shutting down.
  Result<Ticket> submit(Job job, Clock::time_point deadline, Completion completion = {});

  void shutdown();

  [[nodiscard]] std::size_t queue_depth() const;
  [[nodiscard]] std::size_t busy_workers() const { return busy_.load(); }
  [[nodiscard]] std::size_t workers() const { return threads_.size(); }
  [[nodiscard]] std::size_t queue_capacity() const { return capacity_; }

 private:
  struct Entry {
    Job job;
    Completion completion;
    Clock::time_point enqueued;
    Clock::time_point deadline;
    std::shared_ptr<std::atomic<bool>> cancelled;
  };
  void run_worker(std::size_t index);

  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Entry> queue_;
  bool stopping_ = false;
  std::atomic<std::size_t> busy_{0};
  std::vector<std::thread> threads_;
};

}  // namespace visearch
