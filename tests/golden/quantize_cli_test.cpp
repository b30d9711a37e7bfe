// `visearch quantize` through the real binary: usage errors exit 2, an unknown model 1, a refused INT8
// model (AP dropped, no --force) exits with kConflict's code and writes nothing, and a model that keeps its
// AP is written and loads in `detect` (generated conv_grid_tiny detector and data sets, tests/unit/quantize).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "support/image_fixtures.h"
#include "support/temp_files.h"
#include "unit/quantize/quantize_fixture.h"

namespace visearch {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;
using testing::shell_quote;

const std::string kModels = std::string(VISEARCH_SOURCE_DIR) + "/tests/data/models";

std::string quantize_args(const fs::path& data, const fs::path& out) {
  return "quantize --model-dir " + shell_quote(kModels) + " --model " +
         shell_quote(kModels + "/conv_grid_tiny.json") + " --calibration " + shell_quote(data.string()) +
         " --images 4 --out " + shell_quote(out.string());
}

TEST(QuantizeCli, BadFlagsAreUsageErrors) {
  test::TempDir dir;
  test::write_grid_dataset(dir.path() / "data", 2, 2, false);
  const std::string base = quantize_args(dir.path() / "data", dir.path() / "out");
  for (const std::string& args :
       {std::string("quantize --calibration ") + shell_quote((dir.path() / "data").string()) +
            " --out x",                                          // no --model
        std::string("quantize --model conv_grid_tiny --out x"),  // no --calibration
        base + " --images 0", base + " --images many", base + " --max-ap-drop -1",
        base + " --final-layers some", base + " --calibrate entropy", base + " --percentile 30",
        std::string("quantize --model conv_grid_tiny --calibration /no/such/dir --out x"),
        base + " --bogus"}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
  }
  EXPECT_FALSE(fs::exists(dir.path() / "out"));
  const auto unknown =
      run_cli("quantize --model no_such_model --calibration " + shell_quote((dir.path() / "data").string()) +
              " --out " + shell_quote((dir.path() / "out").string()));
  EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
  EXPECT_NE(unknown.err.find("no_such_model"), std::string::npos) << unknown.err;
}

TEST(QuantizeCli, CalibrateAutoIsAcceptedAndTheTableNamesTheChosenRanges) {
  test::TempDir dir;
  test::write_grid_dataset(dir.path() / "data", 4, 6, false);
  auto r = run_cli(quantize_args(dir.path() / "data", dir.path() / "out") +
                   " --calibrate auto --final-layers fp32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("chosen by --calibrate auto"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| minmax | fp32 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| percentile | fp32 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("chosen |"), std::string::npos) << r.out;
  // A forced method is one candidate, as before.
  r = run_cli(quantize_args(dir.path() / "data", dir.path() / "out") +
              " --calibrate minmax --final-layers fp32 --name forced --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  EXPECT_FALSE(report["calibrate_auto"].get<bool>());
  EXPECT_EQ(report["calibrate"], "minmax");
  EXPECT_EQ(report["candidates"].size(), 1U);
}

TEST(QuantizeCli, RefusesAnInt8ModelThatLosesApAndWritesOneThatKeepsIt) {
  test::TempDir dir;
  test::write_grid_dataset(dir.path() / "dark", 4, 6, true);
  auto r = run_cli(quantize_args(dir.path() / "dark", dir.path() / "out"));
  EXPECT_EQ(r.exit_code, 1) << r.err;  // kConflict
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("AP change"), std::string::npos) << r.out;  // the figures are printed anyway
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "conv_grid_tiny_int8"));

  test::write_grid_dataset(dir.path() / "data", 4, 6, false);
  r = run_cli(quantize_args(dir.path() / "data", dir.path() / "out") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  EXPECT_TRUE(report["written"].get<bool>());
  EXPECT_GE(report["ap_change_points"].get<double>(), -1.0);
  EXPECT_GT(report["speedup"].get<double>(), 0.0);
  const std::string spec = report["spec"];
  EXPECT_TRUE(fs::exists(spec));
  // The default is --calibrate auto: min/max and percentile ranges tried, each with its AP change and
  // speed-up, and the report says which was kept.
  EXPECT_TRUE(report["calibrate_auto"].get<bool>());
  ASSERT_EQ(report["candidates"].size(), 4U);  // x final layers FP32 / INT8
  int chosen = 0;
  for (const nlohmann::json& c : report["candidates"]) {
    EXPECT_TRUE(c.contains("ap_change_points")) << c.dump();
    EXPECT_GT(c["speedup"].get<double>(), 0.0) << c.dump();
    if (c["chosen"].get<bool>()) {
      ++chosen;
      EXPECT_EQ(c["calibrate"], report["calibrate"]);
      EXPECT_EQ(c["final_layers"], report["final_layers"]);
    }
  }
  EXPECT_EQ(chosen, 1);
  EXPECT_EQ(report["candidates"][0]["calibrate"], "minmax");
  EXPECT_EQ(report["candidates"][2]["calibrate"], "percentile");
  const auto detect = run_cli("detect --model " + shell_quote(spec) + " --format json " +
                              shell_quote((dir.path() / "data" / "images" / "val" / "img0.png").string()));
  EXPECT_EQ(detect.exit_code, 0) << detect.err;
  EXPECT_NE(detect.out.find("\"apple\""), std::string::npos) << detect.out;
}

}  // namespace
}  // namespace visearch
