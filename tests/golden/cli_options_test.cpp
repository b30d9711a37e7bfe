// The CLI's options (issue 11, defect 11): a repeatable option takes exactly one value per occurrence, so
// the inputs after it are never swallowed (`detect --model-dir DIR a.jpg b.jpg c.jpg` processed only c.jpg);
// a named input folder that does not exist is a usage error (exit 2) that names it; parse errors exit 2;
// `eval` on a data.yaml naming a missing split it does not evaluate warns and succeeds.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "support/temp_files.h"

namespace visearch {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::run_cli;
using testing::shell_quote;

const std::string kShared = VISEARCH_SHARED_DIR;
const std::string kModels = kShared + "/models";

std::string sample(const std::string& name) {
  return shell_quote(kShared + "/data/samples/" + name);
}

// The "source" of every JSON line on stdout.
std::vector<std::string> sources(const std::string& out) {
  std::vector<std::string> found;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) found.push_back(nlohmann::json::parse(line).at("source"));
  }
  return found;
}

TEST(CliOptions, RepeatableModelDirNeverSwallowsTheInputs) {
  const std::vector<std::string> all = {kShared + "/data/samples/dog.jpg", kShared + "/data/samples/bus.jpg",
                                        kShared + "/data/samples/000000000139.jpg"};
  const std::string inputs = sample("dog.jpg") + " " + sample("bus.jpg") + " " + sample("000000000139.jpg");
  for (const std::string& form :
       {"--model-dir " + shell_quote(kModels) + " " + inputs,
        "--model-dir=" + shell_quote(kModels) + " " + inputs,
        "--model-dir " + shell_quote(kModels) + " --model-dir " + shell_quote(kModels) + " " + inputs,
        sample("dog.jpg") + " --model-dir " + shell_quote(kModels) + " " + sample("bus.jpg") + " " +
            sample("000000000139.jpg")}) {
    const CliResult r = run_cli("detect --model fastestdet --format json " + form);
    EXPECT_EQ(r.exit_code, 0) << form << "\n" << r.err;
    EXPECT_EQ(sources(r.out), all) << form << "\n" << r.err;
  }
}

TEST(CliOptions, EveryRepeatableOptionTakesOneValuePerOccurrence) {
  const std::string missing = shell_quote("/no/such/place/for/visearch");
  const std::string models = shell_quote(kModels);
  // A positional argument after the option's value stays positional: the command then fails on it (a
  // missing data set, a missing catalog), never with "... is required" (swallowed by the option).
  for (const std::string& command : {
           "label --model-dir " + models + " " + missing,
           "search --data-dir " + missing + " --attr color=blue " + sample("dog.jpg"),
           "search --data-dir " + missing + " --model-dir " + models + " " + sample("dog.jpg"),
           "catalog import --data-dir " + missing + " --model-dir " + models + " " + missing + "/p.jsonl",
       }) {
    const CliResult r = run_cli(command);
    EXPECT_NE(r.exit_code, 0) << command;
    EXPECT_EQ(r.err.find("required"), std::string::npos) << command << "\n" << r.err;
  }
  // A second value after one occurrence is not the option's: a usage error that names it.
  test::TempDir dir;
  test::write_text(dir.path() / "map.json", R"({"map": {"puppy": "dog"}})");
  const std::string map = shell_quote(dir.str("map.json"));
  for (const std::string& command : {
           "eval --model fastestdet --dataset " + missing + " --class-map " + map + " second.json",
           "compare --dataset " + missing + " --class-map " + map + " second.json",
           "models --model-dir " + models + " second.json",
           // (an address this machine does not have: never a running server, whatever happens)
           "serve --host 203.0.113.1 --model-dir " + models + " second.json",
           "catalog demo --out /tmp/visearch_never --shared " + shell_quote(kShared) +
               " --sources coco128 second.json",
       }) {
    const CliResult r = run_cli(command);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.err;
    EXPECT_NE(r.err.find("second.json"), std::string::npos) << command << "\n" << r.err;
  }
  const CliResult sources = run_cli("catalog demo --out /tmp/visearch_never --shared " +
                                    shell_quote(kShared) + " --sources coco128 coco-mini");
  EXPECT_EQ(sources.exit_code, 2) << sources.err;
  EXPECT_NE(sources.err.find("not expected: coco-mini"), std::string::npos) << sources.err;
  EXPECT_FALSE(fs::exists("/tmp/visearch_never"));
}

TEST(CliOptions, MissingInputFoldersAreUsageErrors) {
  const std::string missing = "/no/such/folder/for/visearch";
  const std::vector<std::string> commands = {
      "detect --model fastestdet --model-dir " + missing + " " + sample("dog.jpg"),
      "models --model-dir " + missing,
      "serve --model-dir " + missing,
      "serve --static-dir " + missing,
      "label --web-dir " + missing + " " + shell_quote(kShared + "/data/coco128-train2017"),
      "eval --model fastestdet --dataset " + shell_quote(kShared + "/data/coco128-train2017") + " --images " +
          missing,
      "catalog import --data-dir /tmp/visearch_never --images " + missing + " " +
          shell_quote(kShared + "/data/coco128-train2017/data.yaml"),
      "dataset check --images " + missing + " " + shell_quote(kShared + "/data/coco128-train2017"),
  };
  for (const std::string& command : commands) {
    const CliResult r = run_cli(command);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.err;
    EXPECT_NE(r.err.find(missing), std::string::npos) << command << "\n" << r.err;
  }
  EXPECT_FALSE(fs::exists("/tmp/visearch_never"));
}

TEST(CliOptions, ParseErrorsExitWithTheUsageStatus) {
  EXPECT_EQ(run_cli("detect --no-such-flag " + sample("dog.jpg")).exit_code, 2);
  EXPECT_EQ(run_cli("detect --format bogus " + sample("dog.jpg")).exit_code, 2);
  EXPECT_EQ(run_cli("detect --help").exit_code, 0);
  EXPECT_EQ(run_cli("--version").exit_code, 0);
}

// data.yaml names train and val; only val is there. Evaluating val warns about train and succeeds.
TEST(CliOptions, EvalWarnsAboutAMissingSplitItDoesNotEvaluate) {
  test::TempDir dir;
  const fs::path source = fs::path(kShared) / "data" / "coco128-train2017";
  std::string yaml = test::read_text(source / "data.yaml");
  const std::string train_line = "train: images/train2017";
  ASSERT_NE(yaml.find(train_line), std::string::npos);
  yaml.replace(yaml.find(train_line), train_line.size(), "train: images/train\nval: images/val");
  test::write_text(dir.path() / "data.yaml", yaml);
  for (const char* stem : {"000000000009", "000000000025"}) {
    fs::create_directories(dir.path() / "images" / "val");
    fs::create_directories(dir.path() / "labels" / "val");
    fs::copy_file(source / "images" / "train2017" / (std::string(stem) + ".jpg"),
                  dir.path() / "images" / "val" / (std::string(stem) + ".jpg"));
    fs::copy_file(source / "labels" / "train2017" / (std::string(stem) + ".txt"),
                  dir.path() / "labels" / "val" / (std::string(stem) + ".txt"));
  }
  const CliResult r = run_cli("eval --model fastestdet --json --dataset " + shell_quote(dir.str()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'train' source not found"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("split"), "val") << r.out;

  // Asking for the missing split is still an error.
  const CliResult train =
      run_cli("eval --model fastestdet --split train --dataset " + shell_quote(dir.str()));
  EXPECT_NE(train.exit_code, 0) << train.err;
}

}  // namespace
}  // namespace visearch
