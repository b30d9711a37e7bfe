#include "server/label_module.h"
#include "core/json_text.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>

#include "dataset/dataset.h"
#include "io/image_decode.h"
#include "labeling/label_json.h"
#include "labeling/prelabel.h"
#include "labeling/prelabel_job.h"

namespace visearch::server {
namespace {

using nlohmann::json;
using Req = httplib::Request;
using Res = httplib::Response;

constexpr int kDefaultPageSize = 500;
constexpr int kMaxPageSize = 5000;
constexpr std::uint64_t kMaxImageBytes = std::uint64_t{256} << 20U;
constexpr const char* kIdPattern = "([0-9a-f]{16})";

struct LabelState {
  ServerContext* ctx = nullptr;
  LabelModuleOptions options;
  std::unique_ptr<labeling::PrelabelJob> job;

  [[nodiscard]] labeling::LabelProject& project() const { return *options.project; }
};

Result<int> int_param(const Req& req, const char* name, int fallback, int low, int high) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || value < low || value > high) {
    return Unexpected{ErrorCode::kInvalidArgument, std::string(name) + " must be an integer in " +
                                                       std::to_string(low) + ".." + std::to_string(high)};
  }
  return static_cast<int>(value);
}

std::string etag_of(std::int64_t version) {
  return "\"" + std::to_string(version) + "\"";
}

void send_detail(LabelState& state, Res& res, int status, const labeling::ImageDetail& detail,
                 json extra = {}) {
  json body = labeling::detail_to_json(detail, state.project().classes());
  if (extra.is_object()) {
    for (auto& [key, value] : extra.items()) body[key] = value;
  }
  res.set_header("ETag", etag_of(detail.summary.version));
  res.set_header("Cache-Control", "no-store");
  state.ctx->send_json(res, status, body);
}

json project_json(const LabelState& state) {
  const labeling::LabelProject& project = state.project();
  json body{{"root", project.root()},
            {"format", std::string(dataset::format_name(project.format()))},
            {"classes", project.classes()},
            {"created", project.created()},
            {"warnings", project.warnings()},
            {"counts", labeling::counts_to_json(project.counts(), project.classes())},
            {"model", state.options.model},
            {"mapping", state.options.mapping.to_json(project.classes())},
            {"score_threshold", std::round(state.options.default_score_threshold * 100.F) / 100.F},
            {"score_floor", labeling::kDefaultScoreFloor},
            {"job", labeling::progress_to_json(state.job->progress())}};
  return body;
}

void handle_list(LabelState& state, const Req& req, Res& res) {
  std::optional<labeling::ImageStatus> status;
  if (req.has_param("status") && !req.get_param_value("status").empty() &&
      req.get_param_value("status") != "all") {
    auto parsed = labeling::parse_status(req.get_param_value("status"));
    if (!parsed) return state.ctx->send_error(res, parsed.error());
    status = *parsed;
  }
  auto offset = int_param(req, "offset", 0, 0, 100'000'000);
  if (!offset) return state.ctx->send_error(res, offset.error());
  auto limit = int_param(req, "limit", kDefaultPageSize, 1, kMaxPageSize);
  if (!limit) return state.ctx->send_error(res, limit.error());
  const std::vector<labeling::ImageSummary> all = state.project().list(status);
  json images = json::array();
  for (auto i = static_cast<std::size_t>(*offset);
       i < all.size() && images.size() < static_cast<std::size_t>(*limit); ++i) {
    images.push_back(labeling::summary_to_json(all[i]));
  }
  res.set_header("Cache-Control", "no-store");
  state.ctx->send_json(
      res, 200,
      json{{"total", all.size()},
           {"offset", *offset},
           {"images", std::move(images)},
           {"counts", labeling::counts_to_json(state.project().counts(), state.project().classes())}});
}

void handle_image_detail(LabelState& state, const Req& req, Res& res) {
  auto detail = state.project().image(req.matches[1]);
  if (!detail) return state.ctx->send_error(res, detail.error());
  send_detail(state, res, 200, *detail);
}

// Serves the image upright: files with an EXIF orientation other than 1 are re-encoded (JPEG) with the
// orientation applied, so the browser shows exactly the pixels the boxes refer to.
void handle_image_file(LabelState& state, const Req& req, Res& res) {
  auto path = state.project().image_path(req.matches[1]);
  if (!path) return state.ctx->send_error(res, path.error());
  struct stat st {};
  std::string etag;
  if (::stat(path->c_str(), &st) == 0) {
    etag = "\"" + std::to_string(static_cast<long long>(st.st_mtim.tv_sec)) + "-" +
           std::to_string(static_cast<long long>(st.st_mtim.tv_nsec)) + "-" +
           std::to_string(static_cast<long long>(st.st_size)) + "\"";
    if (req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      res.set_header("ETag", etag);
      return;
    }
  }
  auto bytes = read_file_bytes(*path, kMaxImageBytes);
  if (!bytes) return state.ctx->send_error(res, bytes.error());
  DecodeLimits limits;
  limits.max_pixels = state.ctx->options().max_pixels;
  auto decoded = decode_image(*bytes, limits);
  if (!decoded) return state.ctx->send_error(res, decoded.error());
  if (!etag.empty()) res.set_header("ETag", etag);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Image-Width", std::to_string(decoded->image.width));
  res.set_header("X-Image-Height", std::to_string(decoded->image.height));
  if (decoded->exif_orientation != 1) {
    auto jpeg = encode_jpeg(decoded->image, 92);
    if (!jpeg) return state.ctx->send_error(res, jpeg.error());
    res.set_content(std::string(jpeg->begin(), jpeg->end()), "image/jpeg");
    return;
  }
  // A decoded image has a known format, so this is never the octet-stream fallback.
  res.set_content(std::string(bytes->begin(), bytes->end()),
                  std::string(image_content_type(decoded->format)));
}

void handle_save(LabelState& state, const Req& req, Res& res) {
  const std::string id = req.matches[1];
  std::string body = req.body;
  // If-Match carries the version when the body does not.
  if (const std::string if_match = req.get_header_value("If-Match"); !if_match.empty()) {
    json doc = json::parse(body, nullptr, false);
    std::string digits;
    for (char c : if_match) {
      if (c >= '0' && c <= '9') digits += c;
    }
    if (doc.is_object() && !doc.contains("version") && !digits.empty() && digits.size() < 18) {
      doc["version"] = std::stoll(digits);
      body = to_json_text(doc);
    }
  }
  auto outcome = state.project().save(id, body);
  if (!outcome) return state.ctx->send_error(res, outcome.error());
  if (outcome->conflict) {
    const std::string message =
        "conflict: " + outcome->detail.summary.key +
        " was saved by someone else after you opened it (you started from "
        "version " +
        std::to_string(outcome->sent_version) + ", it is now version " + std::to_string(outcome->version) +
        "). Nothing was written. Reload the image to see the saved labels, then redo your changes.";
    json body_json = labeling::detail_to_json(outcome->detail, state.project().classes());
    res.set_header("ETag", etag_of(outcome->version));
    state.ctx->send_json(res, 409,
                         json{{"error", {{"code", "conflict"}, {"message", message}}},
                              {"current_version", outcome->version},
                              {"your_version", outcome->sent_version},
                              {"image", std::move(body_json)},
                              {"request_id", res.get_header_value("X-Request-Id")}});
    return;
  }
  send_detail(
      state, res, 200, outcome->detail,
      json{{"saved", true},
           {"history_file", outcome->history_file.empty() ? json(nullptr) : json(outcome->history_file)},
           {"counts", labeling::counts_to_json(state.project().counts(), state.project().classes())}});
}

void handle_prelabel(const std::shared_ptr<LabelState>& shared, const Req& req, Res& res) {
  LabelState& state = *shared;
  if (!state.ctx->require_ready(res)) return;
  const std::string id = req.matches[1];
  auto path = state.project().image_path(id);
  if (!path) return state.ctx->send_error(res, path.error());
  auto output = std::make_shared<std::optional<Result<labeling::PrelabelResult>>>();
  const std::string image_path = *path;
  auto ran = state.ctx->run_on_worker([shared, output, image_path](std::size_t worker) {
    const DetectLease service = shared->ctx->lease_detect_service(worker);
    const Detector* detector = service->find(shared->options.model);
    if (detector == nullptr) {
      *output = Error{ErrorCode::kNotFound, "model '" + shared->options.model + "' is not loaded"};
      return;
    }
    *output = labeling::propose_file(*detector, image_path, shared->options.mapping);
  });
  if (!ran) return state.ctx->send_error(res, ran.error());
  if (!output->has_value())
    return state.ctx->send_error(res, Error{ErrorCode::kInternal, "pre-label produced nothing"});
  Result<labeling::PrelabelResult>& result = **output;
  if (!result) return state.ctx->send_error(res, result.error());
  const std::size_t unmapped = result->unmapped;
  if (auto stored = state.project().set_proposals(id, std::move(result->proposals), state.options.model);
      !stored) {
    return state.ctx->send_error(res, stored.error());
  }
  auto detail = state.project().image(id);
  if (!detail) return state.ctx->send_error(res, detail.error());
  send_detail(
      state, res, 200, *detail,
      json{{"unmapped", unmapped},
           {"model", state.options.model},
           {"counts", labeling::counts_to_json(state.project().counts(), state.project().classes())}});
}

void register_label_routes(const std::shared_ptr<LabelState>& state, ServerContext& ctx) {
  state->ctx = &ctx;
  const std::string id = kIdPattern;
  ctx.route("/v1/label/project", {{"GET", [state](const Req&, Res& res) {
                                     res.set_header("Cache-Control", "no-store");
                                     state->ctx->send_json(res, 200, project_json(*state));
                                   }}});
  ctx.route("/v1/label/images",
            {{"GET", [state](const Req& req, Res& res) { handle_list(*state, req, res); }}});
  ctx.route("/v1/label/images/" + id,
            {{"GET", [state](const Req& req, Res& res) { handle_image_detail(*state, req, res); }}});
  ctx.route("/v1/label/images/" + id + "/image",
            {{"GET", [state](const Req& req, Res& res) { handle_image_file(*state, req, res); }}});
  ctx.route("/v1/label/images/" + id + "/labels",
            {{"PUT", [state](const Req& req, Res& res) { handle_save(*state, req, res); }},
             {"POST", [state](const Req& req, Res& res) { handle_save(*state, req, res); }}});
  ctx.route("/v1/label/images/" + id + "/prelabel",
            {{"POST", [state](const Req& req, Res& res) { handle_prelabel(state, req, res); }}});
  const auto job_json = [state] { return labeling::progress_to_json(state->job->progress()); };
  ctx.route("/v1/label/jobs/prelabel", {{"GET",
                                         [state, job_json](const Req&, Res& res) {
                                           res.set_header("Cache-Control", "no-store");
                                           state->ctx->send_json(res, 200, job_json());
                                         }},
                                        {"POST",
                                         [state, job_json](const Req&, Res& res) {
                                           if (!state->ctx->require_ready(res)) return;
                                           if (auto started = state->job->start(); !started)
                                             return state->ctx->send_error(res, started.error());
                                           state->ctx->send_json(res, 202, job_json());
                                         }},
                                        {"DELETE", [state, job_json](const Req&, Res& res) {
                                           state->job->cancel();
                                           state->ctx->send_json(res, 200, job_json());
                                         }}});
}

}  // namespace

ServerModule label_module(LabelModuleOptions options) {
  auto state = std::make_shared<LabelState>();
  state->options = std::move(options);
  const std::string model = state->options.model;
  const std::vector<std::string> model_dirs = state->options.model_dirs;
  state->job = std::make_unique<labeling::PrelabelJob>(
      *state->options.project, model,
      [model, model_dirs] { return labeling::load_detector(model, model_dirs, 1); }, state->options.mapping);
  ServerModule module;
  module.name = "label";
  module.register_routes = [state](ServerContext& ctx) { register_label_routes(state, ctx); };
  module.load = [state](ServerContext& ctx) -> Status {
    if (ctx.detect_service(0)->find(state->options.model) == nullptr) {
      return Error{ErrorCode::kNotFound, "model '" + state->options.model + "' is not loaded"};
    }
    return ok_status();
  };
  return module;
}

}  // namespace visearch::server
