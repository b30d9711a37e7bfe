// `visearch train` as a user runs it: a smoke run on a handful of aquarium images, whose model folder then
// works with `detect`, `eval` and `serve`; Ctrl-C leaves a resumable checkpoint and no finished-looking
// folder; a bad option is one clear line and nothing written; a full disk is a clear error and leaves no
// finished-looking folder.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "server_fixture.h"
#include "support/temp_files.h"
#include "unit/train/train_fixture.h"

namespace visearch {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

int run(const std::string& args, std::string* out = nullptr, std::string* err_text = nullptr) {
  TempDir tmp;
  const std::string cmd =
      std::string(VISEARCH_BINARY) + " " + args + " >" + tmp.str("out") + " 2>" + tmp.str("err");
  const int status = std::system(cmd.c_str());
  if (out != nullptr) *out = test::read_text(tmp.path() / "out");
  const std::string err = test::read_text(tmp.path() / "err");
  visearch::testing::expect_no_sanitizer_report(err, "visearch " + args);
  if (err_text != nullptr) *err_text = err;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string first_image(const std::string& dataset) {
  for (const auto& e : fs::directory_iterator(fs::path(dataset) / "valid" / "images"))
    return e.path().string();
  return "";
}

TEST(TrainCli, SmokeRunFinishesQuicklyLearnsAndItsFolderWorksWithDetectEvalAndServe) {
  TempDir tmp;
  const auto data = train::test::make_mini_aquarium(tmp.path() / "data", 6, 2, 0, 6);
  const std::string out = tmp.str("models");
  const auto start = std::chrono::steady_clock::now();
  std::string stdout_text;
  std::string stderr_text;
  const int code = run("train --data " + data.path +
                           " --classes fish --epochs 2 --img-size 224 --batch 3 --seed 1"
                           " --no-augment --freeze none --out " +
                           out + " --name smoke",
                       &stdout_text, &stderr_text);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(code, 0) << stderr_text;
  EXPECT_LT(seconds, 60.0);
  const auto done = nlohmann::json::parse(stdout_text);
  EXPECT_EQ(done["event"], "done");
  const fs::path dir = fs::path(out) / "smoke";
  EXPECT_EQ(done["model_dir"], dir.string());

  // One JSON line per epoch (stderr is not a terminal), and the loss goes down.
  std::ifstream log(dir / "train_log.jsonl");
  std::vector<nlohmann::json> epochs;
  for (std::string line; std::getline(log, line);) epochs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(epochs.size(), 2U);
  EXPECT_LT(epochs[1]["loss"].get<double>(), epochs[0]["loss"].get<double>());
  for (const char* key : {"loss", "lr", "val_ap", "val_ap50", "images_per_s"})
    EXPECT_TRUE(epochs[0].contains(key));
  EXPECT_NE(stderr_text.find("\"event\":\"epoch\""), std::string::npos);

  const std::string spec = (dir / "smoke.json").string();
  std::string detected;
  ASSERT_EQ(run("detect --model " + spec + " " + first_image(data.path), &detected, &stderr_text), 0)
      << stderr_text;
  const auto det = nlohmann::json::parse(detected);
  EXPECT_EQ(det["model"], "smoke");
  for (const auto& o : det["objects"]) EXPECT_EQ(o["label"], "fish");

  std::string eval_out;
  ASSERT_EQ(run("eval --model " + spec + " --dataset " + data.path, &eval_out, &stderr_text), 0)
      << stderr_text;
  EXPECT_NE(eval_out.find("AP"), std::string::npos);

  visearch::testing::ServerProcess server({"--model-dir", dir.string(), "--models", "smoke"});
  ASSERT_TRUE(server.ready()) << server.log();
  const std::string jpeg = test::read_text(first_image(data.path));
  auto res = server.client().Post("/v1/detect", jpeg, "image/jpeg");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(nlohmann::json::parse(res->body)["model"], "smoke");
}

TEST(TrainCli, CtrlCStopsWithACheckpointAndNoFinishedLookingFolder) {
  TempDir tmp;
  const auto data = train::test::make_mini_aquarium(tmp.path() / "data", 4, 1, 0, 6);
  const std::string out = tmp.str("models");
  const std::string err_path = tmp.str("train.err");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    execl(VISEARCH_BINARY, VISEARCH_BINARY, "train", "--data", data.path.c_str(), "--classes", "fish",
          "--epochs", "200", "--img-size", "160", "--out", out.c_str(), "--name", "stopped",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  bool saw_epoch = false;
  for (int i = 0; i < 600 && !saw_epoch; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    saw_epoch = test::read_text(err_path).find("\"event\":\"epoch\"") != std::string::npos;
  }
  ASSERT_TRUE(saw_epoch) << test::read_text(err_path);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130) << test::read_text(err_path);
  EXPECT_NE(test::read_text(err_path).find("--resume"), std::string::npos);
  EXPECT_FALSE(fs::exists(fs::path(out) / "stopped"));
  EXPECT_TRUE(fs::exists(fs::path(out) / ".stopped.partial" / "checkpoint" / "state.json"));
  std::string listed;
  ASSERT_EQ(run("models --format json --model-dir " + out, &listed), 0);
  EXPECT_EQ(listed.find("\"stopped\""), std::string::npos);
}

TEST(TrainCli, BadOptionsAreOneClearLineAndWriteNothing) {
  TempDir tmp;
  const auto data = train::test::make_mini_aquarium(tmp.path() / "data", 2, 1, 0, 6);
  const std::string out = tmp.str("models");
  std::string err;
  EXPECT_NE(run("train --data " + data.path + " --base nope --out " + out, nullptr, &err), 0);
  EXPECT_NE(err.find("nope"), std::string::npos) << err;
  EXPECT_EQ(run("train --data " + data.path + " --classes octopus --out " + out, nullptr, &err), 2);
  EXPECT_NE(err.find("octopus"), std::string::npos) << err;
  EXPECT_EQ(run("train --data " + data.path + " --freeze everything --out " + out, nullptr, &err), 2);
  EXPECT_NE(err.find("--freeze"), std::string::npos) << err;
  EXPECT_EQ(run("train --data " + tmp.str("missing") + " --out " + out, nullptr, &err), 2) << err;
  EXPECT_FALSE(fs::exists(out) && !fs::is_empty(out));
}

}  // namespace
}  // namespace visearch

namespace visearch {
namespace {

// A disk that fills up while the model is written: the shell caps the size of any file the run writes
// (ulimit -f; SIGXFSZ ignored, so a write past it fails with EFBIG the way a full disk fails with ENOSPC).
// The run ends with exit 1 and one line naming the file, and leaves no finished-looking folder.
TEST(TrainCli, AFullDiskIsAClearErrorAndLeavesNoFinishedFolder) {
  TempDir tmp;
  const auto data = train::test::make_mini_aquarium(tmp.path() / "data", 3, 2, 0, 6);
  const std::string out = tmp.str("models");
  const std::string cmd = "bash -c 'trap \"\" XFSZ; ulimit -f 1024; exec \"$0\" \"$@\"' " +
                          std::string(VISEARCH_BINARY) + " train --data " + data.path +
                          " --classes fish --epochs 1 --img-size 128 --batch 2 --out " + out +
                          " --name full >" + tmp.str("out") + " 2>" + tmp.str("err");
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal";
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string err = test::read_text(tmp.path() / "err");
  EXPECT_NE(err.find("File too large"), std::string::npos) << err;
  EXPECT_NE(err.find("visearch: error: "), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(fs::path(out) / "full")) << "a failed run left a finished-looking folder";
  EXPECT_TRUE(test::read_text(tmp.path() / "out").empty());
}

}  // namespace
}  // namespace visearch
