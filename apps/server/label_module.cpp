#include "server/label_module.h"
#include "core/json_text.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include "dataset/dataset.h"
#include "io/image_decode.h"
#include "labeling/label_json.h"
#include "labeling/prelabel.h"
#include "labeling/prelabel_job.h"
#include "model/model_repository.h"
#include "train/train_job.h"

namespace visearch::server {
namespace {

using nlohmann::json;
using Req = httplib::Request;
using Res = httplib::Response;

constexpr int kDefaultPageSize = 500;
constexpr int kMaxPageSize = 5000;
constexpr std::uint64_t kMaxImageBytes = std::uint64_t{256} << 20U;
constexpr const char* kIdPattern = "([0-9a-f]{16})";

// The model that makes pre-labels, its label mapping and its "pre-label all" job: replaced whole when the
// person switches to another model (one just trained), so a request uses one consistent triple.
struct Prelabeler {
  std::string model;  // its name in the server
  labeling::LabelMapping mapping;
  std::shared_ptr<labeling::PrelabelJob> job;
};

std::shared_ptr<const Prelabeler> make_prelabeler(labeling::LabelProject& project, const std::string& model,
                                                  const std::string& spec, labeling::LabelMapping mapping,
                                                  const std::vector<std::string>& model_dirs) {
  auto job = std::make_shared<labeling::PrelabelJob>(
      project, model, [spec, model_dirs] { return labeling::load_detector(spec, model_dirs, 1); }, mapping);
  return std::make_shared<const Prelabeler>(Prelabeler{model, std::move(mapping), std::move(job)});
}

struct LabelState {
  ServerContext* ctx = nullptr;
  LabelModuleOptions options;
  train::TrainJob training;

  [[nodiscard]] labeling::LabelProject& project() const { return *options.project; }
  [[nodiscard]] std::shared_ptr<const Prelabeler> prelabeler() const {
    const std::lock_guard lock(mutex);
    return current;
  }
  void set_prelabeler(std::shared_ptr<const Prelabeler> next) {
    const std::lock_guard lock(mutex);
    current = std::move(next);
  }

 private:
  mutable std::mutex mutex;
  std::shared_ptr<const Prelabeler> current;
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

// The detectors `visearch train` can start from (a "train" section in the spec, weights present), by name:
// the labelling tool's "Start from" choice. yolox_nano first, the default.
std::vector<std::string> trainable_bases(const std::vector<std::string>& model_dirs) {
  const ModelRepository repo = ModelRepository::with_defaults(model_dirs);
  std::vector<std::string> names;
  for (const ModelSpec& spec : repo.list_specs()) {
    if (spec.task != "detect" || spec.train.empty() || !repo.resolve(spec.weights, false)) continue;
    names.push_back(spec.name);
  }
  std::stable_partition(names.begin(), names.end(), [](const std::string& n) { return n == "yolox_nano"; });
  return names;
}

json project_json(const LabelState& state) {
  const labeling::LabelProject& project = state.project();
  const std::shared_ptr<const Prelabeler> prelabeler = state.prelabeler();
  json body{{"root", project.root()},
            {"format", std::string(dataset::format_name(project.format()))},
            {"classes", project.classes()},
            {"created", project.created()},
            {"warnings", project.warnings()},
            {"counts", labeling::counts_to_json(project.counts(), project.classes())},
            {"model", prelabeler->model},
            {"mapping", prelabeler->mapping.to_json(project.classes())},
            {"score_threshold", std::round(state.options.default_score_threshold * 100.F) / 100.F},
            {"score_floor", labeling::kDefaultScoreFloor},
            {"job", labeling::progress_to_json(prelabeler->job->progress())},
            {"training", train::progress_to_json(state.training.progress())},
            {"trainable_bases", trainable_bases(state.options.model_dirs)}};
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
  auto bytes = read_file_bytes(*path, kMaxImageBytes, FileKind::kRegularOnly);
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
  const std::shared_ptr<const Prelabeler> prelabeler = state.prelabeler();
  auto ran = state.ctx->run_on_worker([shared, prelabeler, output, image_path](std::size_t worker) {
    const DetectLease service = shared->ctx->lease_detect_service(worker);
    const Detector* detector = service->find(prelabeler->model);
    if (detector == nullptr) {
      *output = Error{ErrorCode::kNotFound, "model '" + prelabeler->model + "' is not loaded"};
      return;
    }
    *output = labeling::propose_file(*detector, image_path, prelabeler->mapping);
  });
  if (!ran) return state.ctx->send_error(res, ran.error());
  if (!output->has_value())
    return state.ctx->send_error(res, Error{ErrorCode::kInternal, "pre-label produced nothing"});
  Result<labeling::PrelabelResult>& result = **output;
  if (!result) return state.ctx->send_error(res, result.error());
  const std::size_t unmapped = result->unmapped;
  if (auto stored = state.project().set_proposals(id, std::move(result->proposals), prelabeler->model);
      !stored) {
    return state.ctx->send_error(res, stored.error());
  }
  auto detail = state.project().image(id);
  if (!detail) return state.ctx->send_error(res, detail.error());
  send_detail(
      state, res, 200, *detail,
      json{{"unmapped", unmapped},
           {"model", prelabeler->model},
           {"counts", labeling::counts_to_json(state.project().counts(), state.project().classes())}});
}

// A number member of a JSON body within [low, high]; `fallback` when absent.
Result<double> number_member(const json& body, const char* name, double fallback, double low, double high) {
  if (!body.contains(name) || body[name].is_null()) return fallback;
  if (!body[name].is_number() || body[name].get<double>() < low || body[name].get<double>() > high) {
    return Unexpected{ErrorCode::kInvalidArgument, std::string(name) + " must be a number in " +
                                                       std::to_string(static_cast<int>(low)) + ".." +
                                                       std::to_string(static_cast<int>(high))};
  }
  return body[name].get<double>();
}

// The next free "<data set folder>_vN" in the training output folder.
std::string next_model_name(const std::string& root, const std::string& out) {
  std::string base = std::filesystem::path(root).lexically_normal().filename().string();
  if (base.empty()) base = std::filesystem::path(root).lexically_normal().parent_path().filename().string();
  std::string clean;
  for (const char c : base) {
    clean += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_') ? c : '_';
  }
  if (clean.empty()) clean = "model";
  for (int n = 1;; ++n) {
    const std::string name = clean + "_v" + std::to_string(n);
    std::error_code error;
    if (!std::filesystem::exists(std::filesystem::path(out) / name, error) &&
        !std::filesystem::exists(std::filesystem::path(out) / ("." + name + ".partial"), error)) {
      return name;
    }
  }
}

// POST /v1/label/jobs/train {"base", "epochs", "img_size", "time_budget_minutes", "freeze"} (all optional):
// trains on the labels saved so far, in the background, for the classes that have boxes.
void handle_train_start(LabelState& state, const Req& req, Res& res) {
  const json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    return state.ctx->send_error(res, Error{ErrorCode::kInvalidArgument, "expected a JSON object"});
  }
  train::TrainOptions options;
  const auto epochs = number_member(body, "epochs", 0, 0, 300);
  const auto img_size = number_member(body, "img_size", 0, 0, 1024);
  const auto budget = number_member(body, "time_budget_minutes", 0, 0, 24 * 60);
  for (const auto* checked : {&epochs, &img_size, &budget}) {
    if (!*checked) return state.ctx->send_error(res, checked->error());
  }
  options.epochs = static_cast<int>(*epochs);
  options.img_size = static_cast<int>(*img_size);
  if (options.img_size != 0 && (options.img_size < 96 || options.img_size % 32 != 0)) {
    return state.ctx->send_error(
        res, Error{ErrorCode::kInvalidArgument, "img_size must be a multiple of 32, at least 96"});
  }
  options.time_budget_minutes = *budget;
  if (body.contains("freeze")) {
    auto freeze = body["freeze"].is_string()
                      ? train::parse_freeze(body["freeze"].get<std::string>())
                      : Result<train::Section>(Error{ErrorCode::kInvalidArgument, "freeze must be a string"});
    if (!freeze) return state.ctx->send_error(res, freeze.error());
    options.first_trained = *freeze;
  }
  if (body.contains("base")) {
    if (!body["base"].is_string()) {
      return state.ctx->send_error(res, Error{ErrorCode::kInvalidArgument, "base must be a model name"});
    }
    options.base = body["base"].get<std::string>();
    const std::vector<std::string> bases = trainable_bases(state.options.model_dirs);
    if (std::find(bases.begin(), bases.end(), options.base) == bases.end()) {
      std::string list;
      for (const std::string& b : bases) list += (list.empty() ? "" : ", ") + b;
      return state.ctx->send_error(
          res, Error{ErrorCode::kInvalidArgument, "base '" + options.base +
                                                      "' cannot be fine-tuned here; the trainable "
                                                      "models are: " +
                                                      list});
    }
  }
  const labeling::LabelProject& project = state.project();
  const labeling::ProjectCounts counts = project.counts();
  std::vector<std::string> left_out;
  for (std::size_t c = 0; c < project.classes().size(); ++c) {
    if (c < counts.per_class.size() && counts.per_class[c] > 0) {
      options.classes.push_back(project.classes()[c]);
    } else {
      left_out.push_back(project.classes()[c]);
    }
  }
  if (options.classes.empty()) {
    return state.ctx->send_error(
        res, Error{ErrorCode::kInvalidArgument, "no class has a labelled box yet: label some images first"});
  }
  options.data = project.root();
  options.format = project.format();
  options.out = state.options.train_out;
  options.name = next_model_name(project.root(), options.out);
  options.model_dirs = state.options.model_dirs;
  options.skip_classes_without_boxes = true;
  if (auto started = state.training.start(options); !started) {
    return state.ctx->send_error(res, Error{ErrorCode::kConflict, started.error().message});
  }
  json reply = train::progress_to_json(state.training.progress());
  reply["classes"] = options.classes;
  reply["left_out"] = left_out;
  reply["out"] = options.out;
  state.ctx->send_json(res, 202, reply);
}

// POST /v1/label/model {"spec": "PATH/NAME.json"}: pre-label with another model from now on (the one just
// trained). Its labels are matched to the data set's classes by name.
void handle_use_model(LabelState& state, const Req& req, Res& res) {
  if (!state.ctx->require_ready(res)) return;
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("spec") || !body["spec"].is_string()) {
    return state.ctx->send_error(
        res, Error{ErrorCode::kInvalidArgument, R"(expected a JSON body {"spec": "PATH/NAME.json"})"});
  }
  const std::string spec = body["spec"].get<std::string>();
  const std::shared_ptr<const Prelabeler> current = state.prelabeler();
  if (current->job->progress().state == "running") {
    return state.ctx->send_error(
        res, Error{ErrorCode::kConflict, "\"pre-label all\" is running; stop it before switching the model"});
  }
  auto loaded = state.ctx->load_model(spec);
  if (!loaded) return state.ctx->send_error(res, loaded.error());
  const std::string name = (*loaded)["name"].get<std::string>();
  const std::shared_ptr<const DetectService> service = state.ctx->detect_service(0);
  const Detector* detector = service->find(name);
  if (detector == nullptr) {
    return state.ctx->send_error(res, Error{ErrorCode::kNotFound, "model '" + name + "' is not loaded"});
  }
  auto mapping =
      labeling::LabelMapping::build(name, detector->spec().labels, state.project().classes(), nullptr);
  if (!mapping) return state.ctx->send_error(res, mapping.error());
  if (mapping->mapped_labels() == 0) {
    return state.ctx->send_error(
        res,
        Error{ErrorCode::kInvalidArgument,
              "none of model '" + name + "''s labels is a class of this data set; nothing to pre-label"});
  }
  state.set_prelabeler(
      make_prelabeler(state.project(), name, spec, std::move(*mapping), state.options.model_dirs));
  res.set_header("Cache-Control", "no-store");
  state.ctx->send_json(res, 200, project_json(state));
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
  const auto job_json = [state] { return labeling::progress_to_json(state->prelabeler()->job->progress()); };
  ctx.route("/v1/label/jobs/prelabel", {{"GET",
                                         [state, job_json](const Req&, Res& res) {
                                           res.set_header("Cache-Control", "no-store");
                                           state->ctx->send_json(res, 200, job_json());
                                         }},
                                        {"POST",
                                         [state, job_json](const Req&, Res& res) {
                                           if (!state->ctx->require_ready(res)) return;
                                           if (auto started = state->prelabeler()->job->start(); !started)
                                             return state->ctx->send_error(res, started.error());
                                           state->ctx->send_json(res, 202, job_json());
                                         }},
                                        {"DELETE", [state, job_json](const Req&, Res& res) {
                                           state->prelabeler()->job->cancel();
                                           state->ctx->send_json(res, 200, job_json());
                                         }}});
  const auto training_json = [state] { return train::progress_to_json(state->training.progress()); };
  ctx.route("/v1/label/jobs/train",
            {{"GET",
              [state, training_json](const Req&, Res& res) {
                res.set_header("Cache-Control", "no-store");
                state->ctx->send_json(res, 200, training_json());
              }},
             {"POST", [state](const Req& req, Res& res) { handle_train_start(*state, req, res); }},
             {"DELETE", [state, training_json](const Req&, Res& res) {
                state->training.stop();
                state->ctx->send_json(res, 200, training_json());
              }}});
  ctx.route("/v1/label/model",
            {{"POST", [state](const Req& req, Res& res) { handle_use_model(*state, req, res); }}});
}

}  // namespace

ServerModule label_module(LabelModuleOptions options) {
  auto state = std::make_shared<LabelState>();
  state->options = std::move(options);
  const std::string spec =
      state->options.model_spec.empty() ? state->options.model : state->options.model_spec;
  state->set_prelabeler(make_prelabeler(*state->options.project, state->options.model, spec,
                                        state->options.mapping, state->options.model_dirs));
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
