// Models loaded into a running `visearch serve` without a restart (issue 10): POST /v1/models with a spec,
// DELETE /v1/models/{name}, SIGHUP rescanning --model-dir. A model that fails to load never replaces one
// that works, the default model cannot be unloaded, and requests in flight finish on the model they
// started with.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "server_fixture.h"

namespace visearch::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kKey = "models-test-key-0123456789";

json shipped_spec(const std::string& name) {
  std::ifstream in(std::string(VISEARCH_SOURCE_DIR) + "/models/" + name + ".json");
  return json::parse(in);
}

void write_json(const fs::path& path, const json& doc) {
  const fs::path partial = path.string() + ".tmp";
  std::ofstream(partial) << doc.dump(2);
  fs::rename(partial, path);  // a rescan never sees half a file
}

class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("visearch_models_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

struct Reply {
  int status = 0;
  json body;
};

httplib::Headers key_headers() {
  return {{"X-API-Key", kKey}};
}

Reply post_model(const ServerProcess& server, const std::string& spec) {
  auto c = server.client();
  auto res = c.Post("/v1/models", key_headers(), json{{"spec", spec}}.dump(), "application/json");
  if (!res) return {};
  return {res->status, json::parse(res->body, nullptr, false)};
}

Reply delete_model(const ServerProcess& server, const std::string& name) {
  auto c = server.client();
  auto res = c.Delete("/v1/models/" + name, key_headers());
  if (!res) return {};
  return {res->status, json::parse(res->body, nullptr, false)};
}

std::vector<std::string> loaded_models(const ServerProcess& server) {
  auto c = server.client();
  auto res = c.Get("/v1/models", key_headers());
  std::vector<std::string> names;
  if (!res || res->status != 200) return names;
  const json body = json::parse(res->body);
  for (const json& m : body["models"]) names.push_back(m["name"]);
  return names;
}

bool is_loaded(const ServerProcess& server, const std::string& name) {
  const auto names = loaded_models(server);
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Detects on dog.jpg with `model`; returns the status (0: no answer) and the number of objects.
std::pair<int, std::size_t> detect_with(const ServerProcess& server, const std::string& model) {
  static const std::string jpeg = read_file(sample("dog.jpg"));
  auto c = server.client();
  auto res = c.Post("/v1/detect?model=" + model, key_headers(), jpeg, "image/jpeg");
  if (!res) return {0, 0};
  const json body = json::parse(res->body, nullptr, false);
  return {res->status, res->status == 200 ? body["objects"].size() : 0};
}

bool eventually(const std::function<bool()>& condition, int timeout_ms = 30000) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

class ServerModelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_file_ = (dir_.path() / "key").string();
    std::ofstream(key_file_) << kKey << "\n";
    model_dir_ = dir_.path() / "models";
    fs::create_directories(model_dir_);
  }
  std::unique_ptr<ServerProcess> start() {
    auto server = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--models", "fastestdet", "--model-dir", model_dir_.string(),
                                 "--api-key-file", key_file_, "--workers", "2", "--solo-threads", "2"});
    EXPECT_TRUE(server->ready()) << server->log();
    return server;
  }
  TempDir dir_;
  std::string key_file_;
  fs::path model_dir_;
};

TEST_F(ServerModelsTest, LoadReplaceAndUnloadWhileServing) {
  auto server = start();
  ASSERT_TRUE(server->ready());
  auto c = server->client();
  // Behind the API key.
  auto unauthorised = c.Post("/v1/models", json{{"spec", "yolox_nano"}}.dump(), "application/json");
  ASSERT_TRUE(unauthorised);
  EXPECT_EQ(unauthorised->status, 401);
  EXPECT_FALSE(is_loaded(*server, "yolox_nano"));

  // A model by name, then by spec path under another name.
  Reply added = post_model(*server, "yolox_nano");
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(added.body["name"], "yolox_nano");
  EXPECT_EQ(added.body["replaced"], false);
  EXPECT_EQ(added.body["default"], false);
  const auto [status, objects] = detect_with(*server, "yolox_nano");
  EXPECT_EQ(status, 200);
  EXPECT_GT(objects, 0U);
  json spec = shipped_spec("yolox_nano");
  spec["name"] = "shop_model";
  spec["defaults"]["score_threshold"] = 0.5;
  write_json(dir_.path() / "shop_model.json", spec);
  added = post_model(*server, (dir_.path() / "shop_model.json").string());
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(loaded_models(*server), (std::vector<std::string>{"fastestdet", "shop_model", "yolox_nano"}));
  EXPECT_EQ(detect_with(*server, "shop_model").first, 200);

  // A spec whose weights are missing is refused, and the model of that name keeps answering.
  json broken = spec;
  broken["weights"] = {{"file", "no_such_weights.onnx"}};
  write_json(dir_.path() / "broken.json", broken);
  const Reply refused = post_model(*server, (dir_.path() / "broken.json").string());
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.body["error"]["code"], "model_missing") << refused.body;
  EXPECT_NE(refused.body["error"]["message"].get<std::string>().find("no_such_weights.onnx"),
            std::string::npos);
  EXPECT_EQ(detect_with(*server, "shop_model").first, 200);
  auto meta = c.Get("/v1/models/shop_model", key_headers());
  ASSERT_TRUE(meta);
  EXPECT_DOUBLE_EQ(json::parse(meta->body)["defaults"]["score_threshold"].get<double>(), 0.5);

  // Replacing a loaded model with a good spec of the same name answers 200 and takes effect.
  spec["defaults"]["score_threshold"] = 0.6;
  write_json(dir_.path() / "shop_model.json", spec);
  added = post_model(*server, (dir_.path() / "shop_model.json").string());
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.body["replaced"], true);
  meta = c.Get("/v1/models/shop_model", key_headers());
  EXPECT_DOUBLE_EQ(json::parse(meta->body)["defaults"]["score_threshold"].get<double>(), 0.6);

  // Bad requests.
  auto malformed = c.Post("/v1/models", key_headers(), "{\"spec\": 3}", "application/json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(post_model(*server, "no_such_model").status, 404);
  EXPECT_EQ(post_model(*server, "mobilenetv2_embed").status, 400);  // an embedder is no detector

  // Unloading: the default model is refused, others go, and a second time is 404.
  const Reply refused_default = delete_model(*server, "fastestdet");
  EXPECT_EQ(refused_default.status, 409) << refused_default.body;
  EXPECT_EQ(refused_default.body["error"]["code"], "conflict");
  EXPECT_EQ(delete_model(*server, "yolox_nano").status, 200);
  EXPECT_EQ(detect_with(*server, "yolox_nano").first, 404);
  EXPECT_EQ(delete_model(*server, "yolox_nano").status, 404);
  EXPECT_EQ(detect_with(*server, "fastestdet").first, 200);
  EXPECT_EQ(loaded_models(*server), (std::vector<std::string>{"fastestdet", "shop_model"}));
  // The KServe routes see the same set.
  auto kserve_ready = c.Get("/v2/models/shop_model/ready", key_headers());
  ASSERT_TRUE(kserve_ready);
  EXPECT_EQ(kserve_ready->status, 200);
  auto metrics = c.Get("/metrics", key_headers());
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("model=\"shop_model\""), std::string::npos);
  EXPECT_EQ(metrics->body.find("model=\"yolox_nano\""), std::string::npos)
      << "an unloaded model's gauge stays";
  EXPECT_EQ(server->terminate(), 0);
}

// Clients detect with a model while it is unloaded and loaded again, over and over: every answer is a
// full 200 or a clean 404 (never a 5xx, a dropped connection or a crash).
TEST_F(ServerModelsTest, RequestsInFlightFinishOnTheModelTheyStartedWith) {
  auto server = start();
  ASSERT_TRUE(server->ready());
  ASSERT_EQ(post_model(*server, "yolox_nano").status, 201);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> not_loaded{0};
  std::vector<std::string> unexpected;
  std::mutex unexpected_mutex;
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        const auto [status, objects] = detect_with(*server, "yolox_nano");
        if (status == 200 && objects > 0) {
          ++ok;
        } else if (status == 404) {
          ++not_loaded;
        } else {
          const std::lock_guard lock(unexpected_mutex);
          unexpected.push_back(std::to_string(status) + "/" + std::to_string(objects));
        }
      }
    });
  }
  for (int round = 0; round < 6; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    EXPECT_EQ(delete_model(*server, "yolox_nano").status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(post_model(*server, "yolox_nano").status, 201);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected answers, first " << unexpected.front();
  EXPECT_GT(ok.load(), 6);
  EXPECT_EQ(detect_with(*server, "yolox_nano").first, 200);
  EXPECT_EQ(server->terminate(), 0);
}

TEST_F(ServerModelsTest, SighupRescansTheModelDir) {
  auto server = start();
  ASSERT_TRUE(server->ready());
  // A trained model's folder appears in --model-dir.
  json spec = shipped_spec("yolox_nano");
  spec["name"] = "shop_model";
  write_json(model_dir_ / "shop_model.json", spec);
  json broken = spec;
  broken["name"] = "broken_model";
  broken["weights"] = {{"file", "no_such_weights.onnx"}};
  write_json(model_dir_ / "broken_model.json", broken);
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  ASSERT_TRUE(eventually([&] { return is_loaded(*server, "shop_model"); })) << server->log();
  EXPECT_FALSE(is_loaded(*server, "broken_model"));
  EXPECT_EQ(detect_with(*server, "shop_model").first, 200);
  EXPECT_NE(server->log().find("model_load_failed"), std::string::npos);

  // It is retrained in place: the next SIGHUP reloads it.
  spec["defaults"]["score_threshold"] = 0.55;
  write_json(model_dir_ / "shop_model.json", spec);
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  auto c = server->client();
  ASSERT_TRUE(eventually([&] {
    auto meta = c.Get("/v1/models/shop_model", key_headers());
    return meta && meta->status == 200 &&
           json::parse(meta->body)["defaults"]["score_threshold"].get<double>() == 0.55;
  })) << server->log();

  // A broken retrain keeps the working model.
  json broken_retrain = spec;
  broken_retrain["weights"] = {{"file", "no_such_weights.onnx"}};
  write_json(model_dir_ / "shop_model.json", broken_retrain);
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(detect_with(*server, "shop_model").first, 200);

  // Its spec is removed: the next SIGHUP unloads it; the model named by --models stays.
  fs::remove(model_dir_ / "shop_model.json");
  fs::remove(model_dir_ / "broken_model.json");
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  ASSERT_TRUE(eventually([&] { return !is_loaded(*server, "shop_model"); })) << server->log();
  EXPECT_EQ(loaded_models(*server), std::vector<std::string>{"fastestdet"});
  EXPECT_EQ(server->terminate(), 0) << server->log();
}

}  // namespace
}  // namespace visearch::testing
