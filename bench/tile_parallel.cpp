// Tiles of a graph with a fixed batch of 1: one after another with every intra-op thread, or several at
// once, each on its own single-threaded session (as the inference pool's workers hold them)?
//
//   build/bench/visearch_bench_tile_parallel [--model picodet_s_416] [--tiles auto,416x416] [--runs 20]
//                                            [--warmup 3] [--batch-model SPEC.json] [--detect-threads 2]
//                                            [--detect-spin 1] IMAGE
//
// For each tiling, the passes of IMAGE (the whole image and each tile) are pre-processed once; then each
// run times their forward passes (Detector::forward; pre-processing and decoding are left out) in four
// ways, alternating run by run so machine noise hits them alike:
//   seq2-spin    one session, 2 intra-op threads, spinning on (the CLI and the solo session), in order
//   seq2         the same with spinning off (an inference worker with --threads-per-worker 2)
//   seq1         one session, 1 intra-op thread, in order
//   par2x1       two sessions of 1 intra-op thread each, spinning off, two threads taking passes in turn
// Medians per image (all passes) and the ratio to seq2-spin, as a table on stderr and JSON lines on stdout.
// --batch-model: the same graph with a dynamic batch (bench/dynamic_batch_model.py); then each run also
// times Detector::detect end to end (tiles cut, pre-processed, forward, decoded, merged) on the model
// (one forward per pass) and on the copy (one forward per batch of up to 8 passes), both with
// --detect-threads intra-op threads and spinning as --detect-spin says, and checks that they give the same
// boxes.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/detector.h"
#include "model/preprocess.h"

namespace {

using Clock = std::chrono::steady_clock;
using visearch::Detector;
using visearch::PreparedInput;

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

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::unique_ptr<Detector> open(const visearch::ModelSpec& spec, const visearch::ModelRepository& repo,
                               int threads, bool spin) {
  auto det =
      Detector::load(spec, repo, visearch::shipped_families(), visearch::RuntimeOptions{threads, spin});
  if (!det) {
    std::cerr << det.error().message << "\n";
    std::exit(1);
  }
  return std::move(*det);
}

bool same(const std::vector<visearch::Detection>& a, const std::vector<visearch::Detection>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.box == y.box && x.class_id == y.class_id && x.score == y.score;
  });
}

bool run_in_order(const Detector& det, const std::vector<PreparedInput>& passes) {
  for (const PreparedInput& p : passes) {
    if (!det.forward(p)) return false;
  }
  return true;
}

bool run_in_parallel(const Detector& a, const Detector& b, const std::vector<PreparedInput>& passes) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> ok{true};
  const auto work = [&](const Detector& det) {
    for (std::size_t i = next++; i < passes.size(); i = next++) {
      if (!det.forward(passes[i])) ok = false;
    }
  };
  std::thread other([&] { work(b); });
  work(a);
  other.join();
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "picodet_s_416";
  std::vector<std::string> tilings = {"auto", "416x416"};
  int runs = 20;
  int warmup = 3;
  std::string image_path;
  std::string batch_model;
  int detect_threads = 2;
  bool detect_spin = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--model") {
      model = value();
    } else if (arg == "--tiles") {
      tilings = split(value());
    } else if (arg == "--runs") {
      runs = std::stoi(value());
    } else if (arg == "--warmup") {
      warmup = std::stoi(value());
    } else if (arg == "--batch-model") {
      batch_model = value();
    } else if (arg == "--detect-threads") {
      detect_threads = std::stoi(value());
    } else if (arg == "--detect-spin") {
      detect_spin = value() != "0";
    } else {
      image_path = arg;
    }
  }
  if (image_path.empty()) {
    std::cerr << "usage: visearch_bench_tile_parallel [--model M] [--tiles auto,416x416] [--runs N] IMAGE\n";
    return 2;
  }
  std::ifstream file(image_path, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                        std::istreambuf_iterator<char>());
  auto decoded = visearch::decode_image(bytes, visearch::DecodeLimits{});
  if (!decoded) {
    std::cerr << decoded.error().message << "\n";
    return 1;
  }
  const visearch::Image& image = decoded->image;
  auto repo = visearch::ModelRepository::with_defaults({});
  auto spec = repo.find_spec(model);
  if (!spec) {
    std::cerr << spec.error().message << "\n";
    return 1;
  }
  auto seq2_spin = open(*spec, repo, 2, true);
  auto seq2 = open(*spec, repo, 2, false);
  auto seq1 = open(*spec, repo, 1, false);
  auto par_a = open(*spec, repo, 1, false);
  auto par_b = open(*spec, repo, 1, false);
  std::unique_ptr<Detector> batched;
  std::unique_ptr<Detector> one_by_one;
  if (!batch_model.empty()) {
    auto batch_spec = visearch::load_model_spec_file(batch_model);
    if (!batch_spec) {
      std::cerr << batch_spec.error().message << "\n";
      return 1;
    }
    batched = open(*batch_spec, repo, detect_threads, detect_spin);
    one_by_one = open(*spec, repo, detect_threads, detect_spin);
    std::fprintf(stderr, "batched copy: %s, max_batch %zu\n", batch_model.c_str(), batched->max_batch());
  }

  std::fprintf(stderr, "%s on %s (%dx%d), %d runs\n", model.c_str(), image_path.c_str(), image.width,
               image.height, runs);
  std::fprintf(stderr, "%-8s %6s %10s %10s %10s %10s %8s %8s\n", "tile", "passes", "seq2-spin", "seq2",
               "seq1", "par2x1", "par/seq2s", "par/seq2");
  for (const std::string& tiling : tilings) {
    auto tile = visearch::parse_tile(tiling);
    if (!tile) {
      std::cerr << tile.error().message << "\n";
      return 2;
    }
    const visearch::TilePlan plan = seq1->plan(visearch::Size{image.width, image.height}, *tile);
    std::vector<PreparedInput> passes{visearch::preprocess_image(image, spec->preprocess)};
    for (const visearch::TileRect& r : plan.tiles) {
      visearch::Image crop = visearch::Image::allocate(r.width, r.height);
      for (int y = 0; y < r.height; ++y) {
        std::copy_n(image.row(r.y + y) + static_cast<std::size_t>(r.x) * visearch::Image::kChannels,
                    crop.row_bytes(), crop.row(y));
      }
      passes.push_back(visearch::preprocess_image(crop, spec->preprocess));
    }
    std::vector<double> t_spin;
    std::vector<double> t_seq2;
    std::vector<double> t_seq1;
    std::vector<double> t_par;
    std::vector<double> t_detect;
    std::vector<double> t_detect_batched;
    std::size_t forwards_batched = 0;
    visearch::DetectOptions detect_options;
    detect_options.tile = *tile;
    for (int run = 0; run < warmup + runs; ++run) {
      auto start = Clock::now();
      bool ok = run_in_order(*seq2_spin, passes);
      const double spin_ms = ms_since(start);
      start = Clock::now();
      ok = run_in_order(*seq2, passes) && ok;
      const double seq2_ms = ms_since(start);
      start = Clock::now();
      ok = run_in_order(*seq1, passes) && ok;
      const double seq1_ms = ms_since(start);
      start = Clock::now();
      ok = run_in_parallel(*par_a, *par_b, passes) && ok;
      const double par_ms = ms_since(start);
      if (!ok) {
        std::cerr << "a forward pass failed\n";
        return 1;
      }
      double detect_ms = 0;
      double detect_batched_ms = 0;
      if (batched) {
        start = Clock::now();
        auto one = one_by_one->detect(image, detect_options);
        detect_ms = ms_since(start);
        start = Clock::now();
        auto many = batched->detect(image, detect_options);
        detect_batched_ms = ms_since(start);
        if (!one || !many) {
          std::cerr << (one ? many.error().message : one.error().message) << "\n";
          return 1;
        }
        if (!same(one->detections, many->detections)) {
          std::cerr << "the batched copy gave other boxes\n";
          return 1;
        }
        forwards_batched = many->forwards;
      }
      if (run < warmup) continue;
      t_detect.push_back(detect_ms);
      t_detect_batched.push_back(detect_batched_ms);
      t_spin.push_back(spin_ms);
      t_seq2.push_back(seq2_ms);
      t_seq1.push_back(seq1_ms);
      t_par.push_back(par_ms);
    }
    const double m_spin = median(t_spin);
    const double m_seq2 = median(t_seq2);
    const double m_seq1 = median(t_seq1);
    const double m_par = median(t_par);
    std::fprintf(stderr, "%-8s %6zu %10.1f %10.1f %10.1f %10.1f %8.2f %8.2f\n", tiling.c_str(), passes.size(),
                 m_spin, m_seq2, m_seq1, m_par, m_par / m_spin, m_par / m_seq2);
    nlohmann::json line{{"model", model},         {"tile", tiling},    {"passes", passes.size()},
                        {"seq2_spin_ms", m_spin}, {"seq2_ms", m_seq2}, {"seq1_ms", m_seq1},
                        {"par2x1_ms", m_par},     {"runs", runs}};
    if (batched) {
      const double m_detect = median(t_detect);
      const double m_batched = median(t_detect_batched);
      std::fprintf(
          stderr,
          "%-8s detect (%d threads, spin %d), one forward per pass %.1f ms; batched (%zu forwards) %.1f "
          "ms: %.2f\n",
          tiling.c_str(), detect_threads, detect_spin ? 1 : 0, m_detect, forwards_batched, m_batched,
          m_batched / m_detect);
      line["detect_ms"] = m_detect;
      line["detect_batched_ms"] = m_batched;
      line["batched_forwards"] = forwards_batched;
      line["detect_threads"] = detect_threads;
      line["detect_spin"] = detect_spin;
    }
    std::cout << line.dump() << "\n";
  }
  return 0;
}
