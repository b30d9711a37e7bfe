// Bare forward pass vs `detect` end to end (decode -> boxes), side by side.
//
//   build/bench/visearch_bench_detect [--models a,b] [--threads 1,2] [--runs 40] [--warmup 5] [--phone]
//                                     [--write-phone FILE] [--breakdown] IMAGE
//
// End to end is DetectService::detect, the path of `visearch detect` and `serve`; "full decode" is the same
// with the image decoded at full size (what it cost before JPEGs were shrunk while decoding). --phone
// enlarges IMAGE (bicubic) to 4032x3024 and encodes it as a JPEG at quality 92: a 12-megapixel phone photo,
// made reproducibly from a sample photo; --write-phone FILE also saves it (bench/serve_bench.sh posts that
// file, so both benchmarks use the same photo; with --runs 0 nothing is timed). For each model and thread
// count the measurements alternate run by run, so machine noise hits them alike; medians and ratios are
// reported, as a table on stderr and JSON lines on stdout.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/detector.h"
#include "model/preprocess.h"
#include "service/detect_service.h"

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

// CPU time of the whole process (every thread), in ms: unlike wall time, what other tenants of a shared
// machine take does not count in it.
double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The limits DetectService::detect decodes with for this spec (shrunk as far as its headroom allows).
visearch::DecodeLimits model_limits(const visearch::PreprocessSpec& pre) {
  visearch::DecodeLimits limits;
  if (pre.decode_shrink_headroom >= 1.F) {
    limits.shrink_target = pre.size;
    limits.shrink_keep_aspect = pre.resize != visearch::ResizeMode::kStretch;
    limits.shrink_headroom = pre.decode_shrink_headroom;
  }
  return limits;
}

int run_breakdown(const std::vector<std::string>& models, const std::vector<int>& threads, int runs,
                  int warmup, const std::vector<std::uint8_t>& bytes, const visearch::ModelRepository& repo,
                  const visearch::FamilyRegistry& families) {
  using namespace visearch;
  DecodeLimits eighth;  // any target smaller than 1/8 of the image: TurboJPEG's smallest scale
  eighth.shrink_target = Size{1, 1};
  eighth.shrink_headroom = 1.F;
  std::fprintf(stderr, "%-22s %3s %9s %9s %9s %9s %9s %9s %9s %8s %8s\n", "model", "thr", "decoded", "decode",
               "1/8 dec", "full dec", "prep", "forward", "e2e", "e2e/fwd", "floor/fwd");
  for (const std::string& name : models) {
    auto spec = repo.find_spec(name);
    if (!spec) return 1;
    for (int t : threads) {
      auto loaded = Detector::load(*spec, repo, families, RuntimeOptions{t, true});
      if (!loaded) return 1;
      const std::shared_ptr<const Detector> detector = std::move(*loaded);
      const DetectService service(DetectService::Detectors{{spec->name, detector}}, spec->name,
                                  DecodeLimits{});
      const DetectRequest request{spec->name, {}};
      const DecodeLimits limits = model_limits(spec->preprocess);
      std::vector<double> dec, dec8, full, prep, fwd, e2e;
      Size decoded_size{};
      for (int r = 0; r < warmup + runs; ++r) {
        auto t0 = Clock::now();
        auto d = decode_image(bytes, limits);
        const double a = ms_since(t0);
        t0 = Clock::now();
        auto d8 = decode_image(bytes, eighth);
        const double b = ms_since(t0);
        t0 = Clock::now();
        auto df = decode_image(bytes, DecodeLimits{});
        const double c = ms_since(t0);
        if (!d || !d8 || !df) return 1;
        decoded_size = Size{d->image.width, d->image.height};
        t0 = Clock::now();
        const PreparedInput prepared = preprocess_image(d->image, spec->preprocess);
        const double p = ms_since(t0);
        t0 = Clock::now();
        auto out = detector->forward(prepared);
        const double f = ms_since(t0);
        t0 = Clock::now();
        auto det = service.detect(bytes, request);
        const double e = ms_since(t0);
        if (!out || !det) return 1;
        if (r < warmup) continue;
        dec.push_back(a);
        dec8.push_back(b);
        full.push_back(c);
        prep.push_back(p);
        fwd.push_back(f);
        e2e.push_back(e);
      }
      const double forward = median(fwd);
      const double floor_ratio = (median(dec8) + forward) / forward;
      const std::string size = std::to_string(decoded_size.width) + "x" + std::to_string(decoded_size.height);
      std::fprintf(stderr, "%-22s %3d %9s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %8.3f %8.3f\n", name.c_str(), t,
                   size.c_str(), median(dec), median(dec8), median(full), median(prep), forward, median(e2e),
                   median(e2e) / forward, floor_ratio);
      std::cout << nlohmann::json{{"model", name},
                                  {"threads", t},
                                  {"runs", runs},
                                  {"decoded_size", size},
                                  {"decode_ms_median", median(dec)},
                                  {"decode_eighth_ms_median", median(dec8)},
                                  {"decode_full_ms_median", median(full)},
                                  {"preprocess_ms_median", median(prep)},
                                  {"forward_ms_median", forward},
                                  {"e2e_ms_median", median(e2e)},
                                  {"ratio_e2e_over_forward", median(e2e) / forward},
                                  {"ratio_floor_over_forward", floor_ratio}}
                       .dump()
                << std::endl;
    }
  }
  return 0;
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
  bool phone = false;
  std::string phone_out;
  bool breakdown = false;
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
    } else if (a == "--phone") {
      phone = true;
    } else if (a == "--breakdown") {
      breakdown = true;
    } else if (a == "--write-phone") {
      phone = true;
      phone_out = next();
    } else {
      image_path = a;
    }
  }
  if (image_path.empty()) {
    std::fprintf(stderr,
                 "usage: visearch_bench_detect [--models a,b] [--threads 1,2] [--runs N] [--phone] "
                 "[--write-phone FILE] [--breakdown] IMAGE\n");
    return 2;
  }
  auto bytes = read_file_bytes(image_path, 1U << 28U);
  if (!bytes) {
    std::fprintf(stderr, "%s\n", bytes.error().message.c_str());
    return 1;
  }
  if (phone) {
    auto photo = decode_image(*bytes, DecodeLimits{});
    if (!photo) return 1;
    Image big = Image::allocate(4032, 3024);
    const cv::Mat src(photo->image.height, photo->image.width, CV_8UC3, photo->image.pixels.data());
    cv::Mat dst(big.height, big.width, CV_8UC3, big.pixels.data());
    cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_CUBIC);
    auto jpeg = encode_jpeg(big, 92);
    if (!jpeg) return 1;
    bytes = std::move(*jpeg);
    std::fprintf(stderr, "phone photo: 4032x3024 JPEG, %.1f MB, from %s\n",
                 static_cast<double>(bytes->size()) / 1e6, image_path.c_str());
    if (!phone_out.empty()) {
      std::FILE* f = std::fopen(phone_out.c_str(), "wb");
      const bool written = f != nullptr && std::fwrite(bytes->data(), 1, bytes->size(), f) == bytes->size();
      if (f != nullptr && std::fclose(f) != 0) return 1;
      if (!written) {
        std::fprintf(stderr, "cannot write %s\n", phone_out.c_str());
        return 1;
      }
    }
  }
  if (runs <= 0) return 0;
  FamilyRegistry families;
  register_all_families(families);
  const ModelRepository repo = ModelRepository::with_defaults({});
  if (breakdown) return run_breakdown(models, threads, runs, warmup, *bytes, repo, families);
  std::fprintf(stderr, "%-22s %7s %11s %11s %11s %11s %8s %8s\n", "model", "threads", "forward ms", "e2e ms",
               "e2e p90 ms", "full-dec ms", "e2e/fwd", "full/fwd");
  for (const std::string& name : models) {
    auto spec = repo.find_spec(name);
    if (!spec) {
      std::fprintf(stderr, "%s\n", spec.error().message.c_str());
      return 1;
    }
    for (int t : threads) {
      auto loaded = Detector::load(*spec, repo, families, RuntimeOptions{t, true});
      if (!loaded) {
        std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
        return 1;
      }
      const std::shared_ptr<const Detector> detector = std::move(*loaded);
      const DetectService service(DetectService::Detectors{{spec->name, detector}}, spec->name,
                                  DecodeLimits{});
      const DetectRequest request{spec->name, {}};
      auto decoded = decode_image(*bytes, DecodeLimits{});
      if (!decoded) return 1;
      const PreparedInput prepared = preprocess_image(decoded->image, spec->preprocess);
      std::vector<double> forward_ms;
      std::vector<double> e2e_ms;
      std::vector<double> e2e_cpu_ms;
      std::vector<double> full_ms;
      for (int r = 0; r < warmup + runs; ++r) {
        auto t0 = Clock::now();
        auto out = detector->forward(prepared);
        const double f = ms_since(t0);
        t0 = Clock::now();
        const double cpu0 = process_cpu_ms();
        auto det = service.detect(*bytes, request);
        const double e = ms_since(t0);
        const double c = process_cpu_ms() - cpu0;
        Image pixels;  // asking for the pixels makes the service decode at full size
        t0 = Clock::now();
        auto full = service.detect(*bytes, request, &pixels);
        const double g = ms_since(t0);
        if (!out || !det || !full) return 1;
        if (r >= warmup) {
          forward_ms.push_back(f);
          e2e_ms.push_back(e);
          e2e_cpu_ms.push_back(c);
          full_ms.push_back(g);
        }
      }
      const double fwd = median(forward_ms);
      const double e2e = median(e2e_ms);
      const double full = median(full_ms);
      std::fprintf(stderr, "%-22s %7d %11.2f %11.2f %11.2f %11.2f %8.3f %8.3f\n", name.c_str(), t, fwd, e2e,
                   percentile(e2e_ms, 0.9), full, e2e / fwd, full / fwd);
      std::cout << nlohmann::json{{"model", name},
                                  {"threads", t},
                                  {"runs", runs},
                                  {"image_bytes", bytes->size()},
                                  {"forward_ms_median", fwd},
                                  {"e2e_ms_median", e2e},
                                  {"e2e_ms_p90", percentile(e2e_ms, 0.9)},
                                  {"e2e_cpu_ms_median", median(e2e_cpu_ms)},
                                  {"full_decode_e2e_ms_median", full},
                                  {"ratio_e2e_over_forward", e2e / fwd},
                                  {"ratio_full_decode_e2e_over_forward", full / fwd}}
                       .dump()
                << std::endl;
    }
  }
  return 0;
}
