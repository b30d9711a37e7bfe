// Bare forward pass vs `detect` end to end (decode -> boxes), side by side.
//
//   build/bench/visearch_bench_detect [--models a,b] [--threads 1,2] [--runs 40] [--warmup 5] IMAGE
//
// For each model and thread count the two measurements alternate run by run,
// so machine noise hits both alike; medians and their ratio are reported, as
// a table on stderr and JSON lines on stdout.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/detector.h"
#include "model/preprocess.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0);
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0.0;
  const auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace visearch;
  std::vector<std::string> models{"picodet_s_416", "picodet_s_320", "yolox_nano",
                                  "nanodet_m_416", "fastestdet",    "ssd_mobilenet_v1_075"};
  std::vector<int> threads{1, 2};
  int runs = 40;
  int warmup = 5;
  std::string image_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--models") {
      models = split(next());
    } else if (a == "--threads") {
      threads.clear();
      for (const auto& t : split(next())) threads.push_back(std::stoi(t));
    } else if (a == "--runs") {
      runs = std::stoi(next());
    } else if (a == "--warmup") {
      warmup = std::stoi(next());
    } else {
      image_path = a;
    }
  }
  if (image_path.empty()) {
    std::fprintf(stderr, "usage: visearch_bench_detect [--models a,b] [--threads 1,2] [--runs N] IMAGE\n");
    return 2;
  }
  auto bytes = read_file_bytes(image_path, 1U << 28U);
  if (!bytes) {
    std::fprintf(stderr, "%s\n", bytes.error().message.c_str());
    return 1;
  }
  FamilyRegistry families;
  register_all_families(families);
  const ModelRepository repo = ModelRepository::with_defaults({});
  std::fprintf(stderr, "%-22s %7s %12s %12s %12s %8s\n", "model", "threads", "forward ms", "e2e ms",
               "e2e p90 ms", "e2e/fwd");
  for (const std::string& name : models) {
    auto spec = repo.find_spec(name);
    if (!spec) {
      std::fprintf(stderr, "%s\n", spec.error().message.c_str());
      return 1;
    }
    for (int t : threads) {
      auto detector = Detector::load(*spec, repo, families, RuntimeOptions{t, true});
      if (!detector) {
        std::fprintf(stderr, "%s\n", detector.error().message.c_str());
        return 1;
      }
      auto decoded = decode_image(*bytes, DecodeLimits{});
      if (!decoded) return 1;
      const PreparedInput prepared = preprocess_image(decoded->image, spec->preprocess);
      std::vector<double> forward_ms;
      std::vector<double> e2e_ms;
      for (int r = 0; r < warmup + runs; ++r) {
        auto t0 = Clock::now();
        auto out = (*detector)->forward(prepared.tensor);
        const double f = ms_since(t0);
        t0 = Clock::now();
        auto img = decode_image(*bytes, DecodeLimits{});
        auto det = (*detector)->detect(img->image, DetectOptions{});
        const double e = ms_since(t0);
        if (!out || !det) return 1;
        if (r >= warmup) {
          forward_ms.push_back(f);
          e2e_ms.push_back(e);
        }
      }
      const double fwd = median(forward_ms);
      const double e2e = median(e2e_ms);
      std::fprintf(stderr, "%-22s %7d %12.2f %12.2f %12.2f %8.3f\n", name.c_str(), t, fwd, e2e,
                   percentile(e2e_ms, 0.9), e2e / fwd);
      std::cout << nlohmann::json{{"model", name},
                                  {"threads", t},
                                  {"runs", runs},
                                  {"forward_ms_median", fwd},
                                  {"e2e_ms_median", e2e},
                                  {"e2e_ms_p90", percentile(e2e_ms, 0.9)},
                                  {"ratio_e2e_over_forward", e2e / fwd}}
                       .dump()
                << std::endl;
    }
  }
  return 0;
}
