// Requests while the server loads its models (issue 17): the search routes read the module's state while
// the loader thread fills it, and a failed load's message is read by every poller while the loader writes
// it. Each test drives that interleaving from several client threads; the ThreadSanitizer build (preset
// tsan) turns a race there into a failure, this build checks that every answer is whole and consistent.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "search_fixture.h"
#include "server_fixture.h"

namespace visearch::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kLoading = "models are still loading";

struct Answers {
  std::mutex mutex;
  std::vector<std::string> problems;
  std::set<std::string> messages_503;
  int loading = 0;  // 503s seen while loading
  int ok = 0;
  void add_problem(std::string text) {
    const std::lock_guard lock(mutex);
    problems.push_back(std::move(text));
  }
};

// One poller: requests in turn until `stop`, recording every answer that is neither a 200 nor a 503.
void poll(const ServerProcess& server, const std::string& jpeg, int kind, const std::atomic<bool>& stop,
          Answers& answers) {
  auto client = server.client();
  client.set_read_timeout(30, 0);
  while (!stop.load()) {
    static const std::array<const char*, 5> kWhat = {"GET /ping", "GET /v1/catalog", "GET /v1/products",
                                                     "POST /v1/search", "POST /v1/detect"};
    const std::string what = kWhat[static_cast<std::size_t>(kind % 5)];
    const auto send = [&]() -> httplib::Result {
      switch (kind % 5) {
        case 0:
          return client.Get("/ping");
        case 1:
          return client.Get("/v1/catalog");
        case 2:
          return client.Get("/v1/products?limit=2");
        case 3:
          return client.Post("/v1/search?limit=1", jpeg, "image/jpeg");
        default:
          return client.Post("/v1/detect", jpeg, "image/jpeg");
      }
    };
    const httplib::Result res = send();
    if (!res) {
      answers.add_problem(what + ": no answer");
      continue;
    }
    const std::lock_guard lock(answers.mutex);
    if (res->status == 200) {
      ++answers.ok;
    } else if (res->status == 503) {
      const json body = json::parse(res->body, nullptr, false);
      if (body.is_discarded() || !body["error"]["message"].is_string()) {
        answers.problems.push_back(what + ": 503 without a JSON error: " + res->body);
        continue;
      }
      const std::string message = body["error"]["message"];
      answers.messages_503.insert(message);
      if (message == kLoading) ++answers.loading;
    } else {
      answers.problems.push_back(what + ": " + std::to_string(res->status) + " " + res->body);
    }
  }
}

TEST(ServerStartup, RequestsDuringModelLoadingGetA503ThenAnswers) {
  const std::string data = copy_catalog(search_catalog().data_a, "startup_data");
  // Several workers: several detector and embedder sessions to load, so the loading phase is long enough
  // for the pollers to meet it.
  ServerProcess server(
      {"--data-dir", data, "--models", "picodet_s_416", "--workers", "4", "--queue-size", "64"},
      ServerProcess::Wait::kListening);
  ASSERT_EQ(server.early_exit(), -1) << server.log();
  EXPECT_FALSE(server.ready()) << "the models loaded before the first /ping: the loading phase was not seen";
  const std::string jpeg = read_file(sample("dog.jpg"));
  Answers answers;
  std::atomic<bool> stop{false};
  std::vector<std::thread> pollers;
  for (int i = 0; i < 10; ++i) pollers.emplace_back([&, i] { poll(server, jpeg, i, stop, answers); });
  // Until the server is ready, then a little longer (the routes answering for real).
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  auto client = server.client();
  while (Clock::now() < deadline) {
    auto ping = client.Get("/ping");
    if (ping && ping->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop.store(true);
  for (std::thread& t : pollers) t.join();
  const std::lock_guard lock(answers.mutex);
  EXPECT_TRUE(answers.problems.empty()) << answers.problems.front();
  EXPECT_GT(answers.loading, 0);
  EXPECT_GT(answers.ok, 0);
  EXPECT_EQ(answers.messages_503, std::set<std::string>{kLoading}) << "503s other than 'loading'";
}

TEST(ServerStartup, AFailedLoadIsReportedWholeToConcurrentPollers) {
  const std::string data = scratch_dir("failed_load_data");
  ServerProcess server({"--data-dir", data, "--models", "fastestdet", "--embed-model", "no_such_embedder"},
                       ServerProcess::Wait::kListening);
  ASSERT_EQ(server.early_exit(), -1) << server.log();
  const std::string jpeg = read_file(sample("dog.jpg"));
  Answers answers;
  std::atomic<bool> stop{false};
  std::vector<std::thread> pollers;
  for (int i = 0; i < 8; ++i) {
    // /ping, /v1/search and /v1/detect: the routes that quote the load error.
    const int kind = std::array{0, 3, 4}[static_cast<std::size_t>(i) % 3];
    pollers.emplace_back([&, kind] { poll(server, jpeg, kind, stop, answers); });
  }
  // Until the failure has been answered (loading is slow under ThreadSanitizer), then a little longer.
  const auto deadline = Clock::now() + std::chrono::seconds(90);
  const auto failed = [&answers] {
    const std::lock_guard lock(answers.mutex);
    return answers.messages_503.size() > 1 || (answers.messages_503.size() == 1 && answers.loading == 0);
  };
  while (!failed() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop.store(true);
  for (std::thread& t : pollers) t.join();
  const std::lock_guard lock(answers.mutex);
  EXPECT_TRUE(answers.problems.empty()) << answers.problems.front();
  EXPECT_EQ(answers.ok, 0);
  // Exactly two messages: loading, then the whole failure (a torn read would add others).
  std::set<std::string> failures = answers.messages_503;
  failures.erase(kLoading);
  ASSERT_EQ(failures.size(), 1U) << ::testing::PrintToString(answers.messages_503);
  const std::string failure = *failures.begin();
  EXPECT_TRUE(failure.starts_with("models failed to load: search: unknown model 'no_such_embedder'"))
      << failure;
}

}  // namespace
}  // namespace visearch::testing
