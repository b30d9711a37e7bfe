// TrainJob, the labelling tool's background training: several HTTP threads may call start() at once.
// A run with a bad option ends at once as failed, so these tests need no data set and no training.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "train/train_job.h"

namespace visearch::train {
namespace {

TrainOptions failing_options() {
  TrainOptions options;
  options.batch = 0;  // refused by run_training before it reads anything
  options.name = "refused";
  return options;
}

// Waits until no run is going on; false if one is still going on after a minute (the job hangs).
bool wait_until_ended(const TrainJob& job) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string state = job.progress().state;
    if (state != "running" && state != "stopping") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(TrainJob, ARunWithABadOptionEndsAsFailedWithItsMessage) {
  TrainJob job;
  ASSERT_TRUE(job.start(failing_options()));
  ASSERT_TRUE(wait_until_ended(job));
  const TrainProgress progress = job.progress();
  EXPECT_EQ(progress.state, "failed");
  EXPECT_EQ(progress.name, "refused");
  EXPECT_NE(progress.error.find("--batch"), std::string::npos) << progress.error;
  EXPECT_FALSE(progress.finished_at.empty());
}

// Once a run has ended, start() reaps its thread before starting the next one. Concurrent callers used to
// join that thread outside the lock, two at once or while another assigned the next run to it: the
// second join threw std::system_error ("No such process") and the test process aborted.
TEST(TrainJob, ConcurrentStartsReapTheEndedRunOnce) {
  TrainJob job;
  for (int round = 0; round < 25; ++round) {
    std::atomic<int> started{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&] {
        if (job.start(failing_options())) ++started;
      });
    }
    for (std::thread& caller : callers) caller.join();
    EXPECT_GE(started.load(), 1) << "round " << round;
    ASSERT_TRUE(wait_until_ended(job)) << "round " << round;
    EXPECT_EQ(job.progress().state, "failed");
  }
}

}  // namespace
}  // namespace visearch::train
