#include "cli/detect_command.h"
#include "core/json_text.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>

#include "cli/common.h"
#include "cli/draw.h"
#include "core/error_table.h"
#include "io/image_decode.h"
#include "service/detect_service.h"

namespace visearch::cli {
namespace {

namespace fs = std::filesystem;

struct DetectArgs {
  ModelOptions model_options;
  std::string model = "picodet_s_416";
  std::optional<float> score_threshold;
  std::optional<float> iou_threshold;
  std::optional<int> max_detections;
  std::string classes;
  bool agnostic_nms = false;
  TileOptions tile;
  std::string format;  // json | table; default by terminal
  std::string draw_dir;
  std::uint64_t max_pixels = DecodeLimits{}.max_pixels;
  std::uint64_t max_bytes = 256ULL << 20U;
  std::vector<std::string> inputs;
};

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".bmp";
}

// Expands folders (recursively, images only, sorted); files and "-" pass through.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs, int* exit_code) {
  std::vector<std::string> out;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (input != "-" && fs::is_directory(input, ec)) {
      std::vector<std::string> found;
      for (auto it =
               fs::recursive_directory_iterator(input, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && has_image_extension(it->path())) found.push_back(it->path().string());
      }
      if (ec) *exit_code = std::max(*exit_code, report_error(input, Error{ErrorCode::kIo, ec.message()}));
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(input);
    }
  }
  return out;
}

Result<std::vector<std::uint8_t>> read_stdin(std::uint64_t max_bytes) {
  std::vector<std::uint8_t> bytes;
  std::array<char, 65536> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), stdin)) > 0) {
    bytes.insert(bytes.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got));
    if (bytes.size() > max_bytes) {
      return Unexpected{ErrorCode::kPayloadTooLarge,
                        "standard input exceeds " + std::to_string(max_bytes) + " bytes"};
    }
  }
  return bytes;
}

void print_table(const DetectResponse& r, const std::string& source) {
  std::printf(
      "%s  %dx%d  %zu object%s  (decode %.1f ms, preprocess %.1f ms, inference %.1f ms, postprocess %.1f "
      "ms)\n",
      source.c_str(), r.image.width, r.image.height, r.detections.size(), r.detections.size() == 1 ? "" : "s",
      r.decode_ms, r.timing.preprocess_ms, r.timing.inference_ms, r.timing.postprocess_ms);
  for (const Detection& d : r.detections) {
    std::printf("  %-16s %5.3f  [%7.1f, %7.1f, %7.1f, %7.1f]\n",
                r.spec->labels[static_cast<std::size_t>(d.class_id)].c_str(), static_cast<double>(d.score),
                static_cast<double>(d.box.x1), static_cast<double>(d.box.y1), static_cast<double>(d.box.x2),
                static_cast<double>(d.box.y2));
  }
}

class Progress {
 public:
  Progress(std::size_t total, bool enabled) : total_(total), enabled_(enabled && total > 1) {}
  void step() {
    ++done_;
    if (!enabled_) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
    std::fprintf(stderr, "\r%zu/%zu images  %.1f images/s  ETA %.0f s   ", done_, total_, rate, eta);
    if (done_ == total_) std::fprintf(stderr, "\n");
  }

 private:
  std::size_t total_;
  std::size_t done_ = 0;
  bool enabled_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

int run_detect(const DetectArgs& args) {
  int exit_code = 0;
  const ModelRepository repository = make_repository(args.model_options);
  auto spec = repository.find_spec(args.model);
  if (!spec) return report_error(spec.error());
  RuntimeOptions runtime;
  runtime.intra_op_threads = args.model_options.threads;
  auto detector = Detector::load(*spec, repository, families(), runtime);
  if (!detector) return report_error(detector.error());

  DetectRequest request;
  request.model = spec->name;
  request.options.score_threshold = args.score_threshold;
  request.options.iou_threshold = args.iou_threshold;
  request.options.max_detections = args.max_detections;
  request.options.agnostic_nms = args.agnostic_nms;
  request.options.tile = args.tile;
  if (!args.classes.empty()) {
    auto ids = parse_class_list(*spec, args.classes);
    if (!ids) return report_error(ids.error());
    request.options.classes = *ids;
  }
  if (auto valid = (*detector)->validate(request.options); !valid) return report_error(valid.error());

  std::map<std::string, std::unique_ptr<Detector>> detectors;
  detectors.emplace(spec->name, std::move(*detector));
  DecodeLimits limits;
  limits.max_pixels = args.max_pixels;
  const DetectService service(std::move(detectors), spec->name, limits);

  if (!args.draw_dir.empty()) {
    std::error_code ec;
    fs::create_directories(args.draw_dir, ec);
    if (ec) return report_error(args.draw_dir, Error{ErrorCode::kIo, ec.message()});
  }
  const bool as_json = args.format.empty() ? !stdout_is_terminal() : args.format == "json";
  const std::vector<std::string> inputs = expand_inputs(args.inputs, &exit_code);
  Progress progress(inputs.size(), stderr_is_terminal());
  for (const std::string& source : inputs) {
    auto bytes = source == "-" ? read_stdin(args.max_bytes) : read_file_bytes(source, args.max_bytes);
    Image image;
    Result<DetectResponse> response =
        bytes ? service.detect(*bytes, request, args.draw_dir.empty() ? nullptr : &image)
              : Result<DetectResponse>(bytes.error());
    if (!response) {
      exit_code = std::max(exit_code, report_error(source, response.error()));
      progress.step();
      continue;
    }
    if (as_json) {
      std::cout << to_json_text(detection_to_json(*response, source)) << '\n' << std::flush;
    } else {
      print_table(*response, source);
      std::fflush(stdout);
    }
    if (!args.draw_dir.empty()) {
      const std::string name = source == "-" ? "stdin" : fs::path(source).stem().string();
      const fs::path out_path = fs::path(args.draw_dir) / (name + ".jpg");
      auto jpeg = encode_jpeg(draw_detections(image, *response), 90);
      FILE* file = jpeg ? std::fopen(out_path.c_str(), "wb") : nullptr;
      if (file == nullptr || std::fwrite(jpeg->data(), 1, jpeg->size(), file) != jpeg->size()) {
        exit_code = std::max(exit_code, report_error(out_path.string(),
                                                     Error{ErrorCode::kIo, "cannot write annotated image"}));
      }
      if (file != nullptr) std::fclose(file);
    }
    progress.step();
  }
  return exit_code;
}

}  // namespace

void add_detect_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DetectArgs>();
  CLI::App* cmd = app.add_subcommand("detect", "Detect objects in images; boxes in original-image pixels");
  cmd->add_option("inputs", args->inputs, "Image files, folders (recursive) or - for standard input")
      ->required();
  cmd->add_option("-m,--model", args->model, "Model name (see `visearch models`) or path to a spec .json")
      ->capture_default_str();
  add_model_options(*cmd, args->model_options);
  cmd->add_option("--score-threshold", args->score_threshold, "Minimum score (default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--iou-threshold", args->iou_threshold, "NMS IoU threshold (default: the model's)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-detections", args->max_detections, "At most N objects per image")
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--classes", args->classes, "Keep only these classes (names or ids, comma-separated)");
  cmd->add_flag("--agnostic-nms", args->agnostic_nms, "One box per object whatever its label");
  add_tile_options(*cmd, args->tile);
  cmd->add_option("--format", args->format,
                  "json (one object per line) or table; default json unless stdout is a terminal")
      ->check(CLI::IsMember({"json", "table"}));
  cmd->add_option("--draw", args->draw_dir, "Write annotated JPEG copies into DIR");
  cmd->add_option("--max-pixels", args->max_pixels, "Refuse images with more pixels than this")
      ->capture_default_str();
  cmd->add_option("--max-bytes", args->max_bytes, "Refuse files larger than this")->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = run_detect(*args); });
}

}  // namespace visearch::cli
