#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include "core/sha256.h"
#include "dataset/atomic_file.h"
#include "eval/model_eval.h"
#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/detector.h"
#include "model/model_repository.h"
#include "train/head.h"
#include "train/onnx_graph.h"
#include "train/optim.h"

namespace visearch::train {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Unexpected invalid(const std::string& what) {
  return Unexpected{ErrorCode::kInvalidArgument, what};
}

// ---- checkpoint: named float tensors in one binary file --------------------------------------------------

std::string encode_tensors(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::string out = "VSCKPT1\n";
  auto put = [&out](const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); };
  const auto count = static_cast<std::uint64_t>(tensors.size());
  put(&count, sizeof count);
  for (const auto& [name, t] : tensors) {
    const at::Tensor c = t.detach().to(at::kFloat).contiguous();
    const auto len = static_cast<std::uint64_t>(name.size());
    put(&len, sizeof len);
    put(name.data(), name.size());
    const auto dims = static_cast<std::uint64_t>(c.dim());
    put(&dims, sizeof dims);
    for (std::int64_t d : c.sizes()) put(&d, sizeof d);
    put(c.data_ptr<float>(), static_cast<std::size_t>(c.numel()) * sizeof(float));
  }
  return out;
}

Result<std::map<std::string, at::Tensor>> decode_tensors(const std::string& bytes) {
  std::size_t pos = 0;
  auto take = [&](void* p, std::size_t n) {
    if (pos + n > bytes.size()) return false;
    std::memcpy(p, bytes.data() + pos, n);
    pos += n;
    return true;
  };
  if (bytes.compare(0, 8, "VSCKPT1\n") != 0)
    return Unexpected{ErrorCode::kInvalidArgument, "not a checkpoint"};
  pos = 8;
  std::uint64_t count = 0;
  if (!take(&count, sizeof count)) return Unexpected{ErrorCode::kInvalidArgument, "truncated checkpoint"};
  std::map<std::string, at::Tensor> out;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t len = 0;
    std::uint64_t dims = 0;
    if (!take(&len, sizeof len) || len > 4096)
      return Unexpected{ErrorCode::kInvalidArgument, "bad checkpoint"};
    std::string name(len, '\0');
    if (!take(name.data(), len) || !take(&dims, sizeof dims) || dims > 8) {
      return Unexpected{ErrorCode::kInvalidArgument, "bad checkpoint"};
    }
    std::vector<std::int64_t> shape(dims);
    std::int64_t numel = 1;
    for (auto& d : shape) {
      if (!take(&d, sizeof d) || d < 0) return Unexpected{ErrorCode::kInvalidArgument, "bad checkpoint"};
      numel *= d;
    }
    at::Tensor t = at::empty(shape, at::kFloat);
    if (!take(t.data_ptr<float>(), static_cast<std::size_t>(numel) * sizeof(float))) {
      return Unexpected{ErrorCode::kInvalidArgument, "truncated checkpoint"};
    }
    out[name] = t;
  }
  return out;
}

// ---- options <-> json (the checkpoint remembers how the run was started) ----------------------------------

nlohmann::json options_to_json(const TrainOptions& o) {
  return {{"data", o.data},
          {"format", std::string(dataset::format_name(o.format))},
          {"split_train", o.split_train},
          {"split_val", o.split_val},
          {"base", o.base},
          {"classes", o.classes},
          {"img_size", o.img_size},
          {"epochs", o.epochs},
          {"batch", o.batch},
          {"first_trained", static_cast<int>(o.first_trained)},
          {"lr", o.lr},
          {"seed", o.seed},
          {"out", o.out},
          {"name", o.name},
          {"augment", o.augment.enabled},
          {"model_dirs", o.model_dirs}};
}

Result<TrainOptions> options_from_json(const nlohmann::json& j, const TrainOptions& now) {
  TrainOptions o = now;
  try {
    o.data = j.at("data").get<std::string>();
    auto format = dataset::parse_format(j.at("format").get<std::string>());
    if (!format) return format.error();
    o.format = *format;
    o.split_train = j.at("split_train").get<std::string>();
    o.split_val = j.at("split_val").get<std::string>();
    o.base = j.at("base").get<std::string>();
    o.classes = j.at("classes").get<std::vector<std::string>>();
    o.img_size = j.at("img_size").get<int>();
    o.epochs = j.at("epochs").get<int>();
    o.batch = j.at("batch").get<int>();
    o.first_trained = static_cast<Section>(j.at("first_trained").get<int>());
    o.lr = j.at("lr").get<double>();
    o.seed = j.at("seed").get<std::uint64_t>();
    o.out = j.at("out").get<std::string>();
    o.name = j.at("name").get<std::string>();
    o.augment.enabled = j.at("augment").get<bool>();
    if (o.model_dirs.empty()) o.model_dirs = j.at("model_dirs").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return invalid(std::string("checkpoint state is unreadable: ") + e.what());
  }
  return o;
}

// ---- the run
// -----------------------------------------------------------------------------------------------

struct Split {
  std::vector<std::size_t> train;
  std::vector<std::size_t> val;
  std::string description;
};

Result<Split> choose_split(const dataset::Dataset& ds, const TrainOptions& o) {
  Split split;
  const std::vector<std::string> splits = ds.splits();
  auto has = [&](const std::string& s) {
    return std::find(splits.begin(), splits.end(), s) != splits.end() || ds.split_aliases.count(s) != 0;
  };
  auto list = [&] {
    std::string text;
    for (const std::string& s : splits) text += (text.empty() ? "" : ", ") + (s.empty() ? "(none)" : s);
    return text;
  };
  std::string train_split = o.split_train;
  if (!train_split.empty() && !has(train_split)) {
    return invalid("no split '" + train_split + "' in the data set; it has: " + list());
  }
  if (train_split.empty() && has("train")) train_split = "train";
  std::string val_split = o.split_val;
  if (!val_split.empty() && !has(val_split)) {
    return invalid("no split '" + val_split + "' in the data set; it has: " + list());
  }
  if (val_split.empty()) {
    for (const std::string& s : {std::string("val"), std::string("valid"), std::string("validation")}) {
      if (has(s) && s != train_split) {
        val_split = s;
        break;
      }
    }
    if (val_split.empty()) {
      for (const std::string& s : splits) {
        if (s.find("val") != std::string::npos && s != train_split) val_split = s;
      }
    }
  }
  // A val alias pointing at the training folder is no validation split.
  if (o.split_val.empty() && !val_split.empty() && !train_split.empty()) {
    auto it = ds.split_aliases.find(val_split);
    if (it != ds.split_aliases.end() && it->second == train_split) val_split.clear();
  }
  std::vector<std::size_t> pool;
  for (std::size_t i = 0; i < ds.images.size(); ++i) {
    const dataset::ImageRecord& img = ds.images[i];
    if (img.path.empty() || img.has_errors || !img.labelled) continue;
    const bool val = !val_split.empty() && ds.in_split(img, val_split);
    if (val) split.val.push_back(i);
    // The same split for both (asked for explicitly): validate on the training images.
    if ((!val || val_split == train_split) && (train_split.empty() || ds.in_split(img, train_split))) {
      pool.push_back(i);
    }
  }
  if (val_split.empty()) {
    std::mt19937 rng(static_cast<std::uint32_t>(o.seed * 2654435761ULL + 17));
    std::shuffle(pool.begin(), pool.end(), rng);
    // At least one image when there are two (a first labelling session has few), never all of them.
    const auto n_val = std::min(
        pool.size() - std::min<std::size_t>(pool.size(), 1),
        std::max<std::size_t>(
            1, static_cast<std::size_t>(std::lround(static_cast<double>(pool.size()) * o.holdout_fraction))));
    split.val.assign(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(n_val));
    split.train.assign(pool.begin() + static_cast<std::ptrdiff_t>(n_val), pool.end());
    std::sort(split.val.begin(), split.val.end());
    std::sort(split.train.begin(), split.train.end());
    split.description = "no validation split: holding out " + std::to_string(split.val.size()) + " of " +
                        std::to_string(pool.size()) + " images (" +
                        std::to_string(static_cast<int>(o.holdout_fraction * 100)) + " %, seed " +
                        std::to_string(o.seed) + ") for validation";
  } else {
    split.train = std::move(pool);
    split.description = "train split '" +
                        (train_split.empty() ? std::string("all other images") : train_split) +
                        "', validation split '" + val_split + "'";
  }
  if (split.train.empty()) return invalid(o.data + ": the training split has no usable labelled image");
  if (split.val.empty())
    return invalid(o.data + ": no image left for validation (the data set is too small)");
  return split;
}

}  // namespace

Result<Section> parse_freeze(std::string_view text) {
  if (text == "none") return Section::kBackbone;
  if (text == "backbone") return Section::kNeck;
  if (text == "backbone+neck") return Section::kHead;
  return invalid("--freeze must be none, backbone or backbone+neck (got '" + std::string(text) + "')");
}

nlohmann::json to_json(const EpochRecord& r) {
  auto round = [](double v, double q) { return std::round(v * q) / q; };
  return {{"epoch", r.epoch},
          {"epochs", r.epochs},
          {"loss", round(r.loss, 1e4)},
          {"box_loss", round(r.box_loss, 1e4)},
          {"obj_loss", round(r.obj_loss, 1e4)},
          {"dfl_loss", round(r.dfl_loss, 1e4)},
          {"cls_loss", round(r.cls_loss, 1e4)},
          {"lr", r.lr},
          {"val_ap", round(r.ap, 1e4)},
          {"val_ap50", round(r.ap50, 1e4)},
          {"images_per_s", round(r.images_per_second, 100)},
          {"ms_per_image",
           {{"data", round(r.ms_per_image[0], 10)},
            {"forward", round(r.ms_per_image[1], 10)},
            {"loss", round(r.ms_per_image[2], 10)},
            {"backward", round(r.ms_per_image[3], 10)}}},
          {"eval_s", round(r.eval_s, 10)},
          {"elapsed_s", round(r.elapsed_s, 10)},
          {"eta_s", round(r.eta_s, 10)},
          {"best", r.best}};
}

Result<TrainReport> run_training(const TrainOptions& requested, const TrainCallbacks& cb) {
  const Clock::time_point started = Clock::now();
  TrainOptions o = requested;
  nlohmann::json state;
  std::string partial;
  if (!o.resume.empty()) {
    // --resume: the options come from the checkpoint; only threads, time budget and stop are new.
    fs::path dir(o.resume);
    if (!fs::exists(dir / "checkpoint" / "state.json")) {
      const fs::path hidden = dir.parent_path() / ("." + dir.filename().string() + ".partial");
      if (fs::exists(hidden / "checkpoint" / "state.json")) dir = hidden;
    }
    auto text = dataset::read_text_file((dir / "checkpoint" / "state.json").string());
    if (!text) return invalid(o.resume + ": no checkpoint to resume (expected checkpoint/state.json)");
    state = nlohmann::json::parse(*text, nullptr, false);
    if (state.is_discarded()) return invalid(o.resume + ": checkpoint/state.json is not valid JSON");
    auto restored = options_from_json(state.value("options", nlohmann::json::object()), o);
    if (!restored) return restored.error();
    o = *restored;
    o.resume = requested.resume;
    partial = dir.string();
  }
  if (o.batch < 1 || o.batch > 256) return invalid("--batch must be 1..256");
  if (o.epochs < 0 || o.epochs > 10000) return invalid("--epochs must be 0 (auto)..10000");
  if (o.lr < 0 || o.lr > 1) return invalid("--lr must be in (0, 1]");
  if (o.img_size != 0 && (o.img_size < 64 || o.img_size > 1280 || o.img_size % 32 != 0)) {
    return invalid("--img-size must be a multiple of 32 in 64..1280");
  }
  set_training_threads(o.threads);

  // Base model.
  const ModelRepository repo = ModelRepository::with_defaults(o.model_dirs);
  auto base_spec = repo.find_spec(o.base);
  if (!base_spec) {
    return Unexpected{ErrorCode::kNotFound, "unknown --base '" + o.base + "': " + base_spec.error().message};
  }
  if (base_spec->task != "detect") return invalid("--base " + o.base + " is not a detector");
  if (base_spec->train.empty()) {
    return Unexpected{ErrorCode::kInvalidSpec,
                      "model '" + base_spec->name + "' (family " + base_spec->family +
                          ") cannot be fine-tuned: its spec has no \"train\" section; "
                          "use --base yolox_nano or picodet_s_416"};
  }
  auto base_weights = repo.resolve(base_spec->weights);
  if (!base_weights) return base_weights.error();

  // Data set and classes.
  dataset::LoadOptions load_options;
  load_options.format = o.format;
  auto ds = dataset::load_dataset(o.data, load_options);
  if (!ds) return ds.error();
  if (ds->images.empty()) return invalid(o.data + ": the data set has no images");
  std::vector<std::string> classes = o.classes.empty() ? ds->classes : o.classes;
  if (classes.empty()) return invalid(o.data + ": the data set declares no classes");
  std::vector<int> class_of(ds->classes.size(), -1);
  for (std::size_t i = 0; i < classes.size(); ++i) {
    const int id = ds->class_id_of(classes[i]);
    if (id < 0) {
      std::string known;
      for (const std::string& c : ds->classes) known += (known.empty() ? "" : ", ") + c;
      return invalid("--classes names '" + classes[i] +
                     "', which the data set does not have (it has: " + known + ")");
    }
    if (class_of[static_cast<std::size_t>(id)] >= 0)
      return invalid("--classes names '" + classes[i] + "' twice");
    class_of[static_cast<std::size_t>(id)] = static_cast<int>(i);
  }
  auto split = choose_split(*ds, o);
  if (!split) return split.error();
  std::vector<std::size_t> box_count(classes.size(), 0);
  for (std::size_t i : split->train) {
    for (const auto& a : ds->images[i].annotations) {
      if (a.class_id >= 0 && static_cast<std::size_t>(a.class_id) < class_of.size() &&
          class_of[static_cast<std::size_t>(a.class_id)] >= 0) {
        ++box_count[static_cast<std::size_t>(class_of[static_cast<std::size_t>(a.class_id)])];
      }
    }
  }
  if (o.skip_classes_without_boxes) {
    // Keep the classes that have training boxes, in their order; say which were left out.
    std::vector<std::string> kept;
    std::string left_out;
    for (std::size_t c = 0; c < classes.size(); ++c) {
      if (box_count[c] > 0) {
        kept.push_back(classes[c]);
      } else {
        left_out += (left_out.empty() ? "" : ", ") + classes[c];
      }
    }
    if (kept.empty()) return invalid(o.data + ": no class has a box in the training images");
    if (!left_out.empty()) {
      if (cb.message) cb.message("left out (no boxes in the training images): " + left_out);
      for (int& slot : class_of) {
        if (slot < 0) continue;
        const auto found = std::find(kept.begin(), kept.end(), classes[static_cast<std::size_t>(slot)]);
        slot = found == kept.end() ? -1 : static_cast<int>(found - kept.begin());
      }
      classes = std::move(kept);
    }
  }
  for (std::size_t c = 0; c < classes.size(); ++c) {
    if (!o.skip_classes_without_boxes && box_count[c] == 0) {
      return invalid("class '" + classes[c] +
                     "' has no boxes in the training images; label some or leave it out "
                     "with --classes");
    }
  }

  // The model name.
  if (o.name.empty()) {
    std::string stem = fs::path(o.data).filename().string();
    if (stem.empty() || stem == "." || stem == "data.yaml")
      stem = fs::path(o.data).parent_path().filename().string();
    o.name = o.base + "_" + (stem.empty() ? std::string("custom") : stem);
  }
  for (char& ch : o.name) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '-' || ch == '.')) ch = '_';
  }
  // The network.
  auto graph = OnnxGraph::load(base_weights->path);
  if (!graph) return graph.error();
  GraphLayout layout;
  try {
    layout.backbone_outputs = base_spec->train.value("backbone_outputs", std::vector<std::string>{});
    layout.neck_outputs = base_spec->train.value("neck_outputs", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    return Unexpected{ErrorCode::kInvalidSpec, base_spec->source_path + ": train: " + e.what()};
  }
  auto net = GraphNet::build(*graph, layout);
  if (!net) return net.error();
  auto head = make_head(*base_spec, *net);
  if (!head) return head.error();
  std::vector<int> base_row(classes.size(), -1);
  for (std::size_t i = 0; i < classes.size(); ++i) {
    for (std::size_t j = 0; j < base_spec->labels.size(); ++j) {
      if (dataset::normalize_class_name(base_spec->labels[j]) == dataset::normalize_class_name(classes[i])) {
        base_row[i] = static_cast<int>(j);
      }
    }
  }
  if (auto st = (*head)->resize_classes(*net, base_row, o.seed); !st) return st.error();
  const double input_scale = base_spec->train.value("input_scale", 1.0);
  const auto input_factor = static_cast<float>(1.0 / input_scale);
  {
    // Fold the input scale into the stem while training (undone on export): SGD on a 0-255 input blows up.
    const c10::NoGradGuard no_grad;
    net->mutable_parameters().at(net->stem_weight()).mul_(input_scale);
  }
  net->freeze_below(o.first_trained);

  ModelSpec spec = *base_spec;  // the trained model's spec: same pre-processing, new labels
  spec.name = o.name;
  spec.labels = classes;
  spec.description = "Fine-tuned from " + base_spec->name + " on " + o.data + " (" +
                     std::to_string(classes.size()) + " classes) by visearch train.";
  if (o.img_size != 0 && base_spec->train.value("fixed_input_size", false) &&
      (o.img_size != base_spec->preprocess.size.width || o.img_size != base_spec->preprocess.size.height)) {
    return invalid("--img-size " + std::to_string(o.img_size) + ": the graph of " + base_spec->name +
                   " has its input size built into its shape constants (" +
                   std::to_string(base_spec->preprocess.size.width) + "x" +
                   std::to_string(base_spec->preprocess.size.height) +
                   "); choose a base model of the size you want (e.g. picodet_s_320) instead");
  }
  if (o.img_size != 0) spec.preprocess.size = Size{o.img_size, o.img_size};
  const int input_w = spec.preprocess.size.width;
  const int input_h = spec.preprocess.size.height;

  // Exported graphs: the base graph with the new head and input size.
  OnnxGraph export_graph = *graph;
  if (auto st = (*head)->patch_graph(export_graph, static_cast<int>(classes.size()), input_w, input_h); !st) {
    return st.error();
  }
  export_graph.set_input_hw(input_h, input_w);
  const std::string stem = net->stem_weight();
  const nlohmann::json decoder_fields = (*head)->decoder_fields(*graph);
  nlohmann::json base_spec_json;  // the trained spec is the base spec's file with new name, labels, weights
  {
    std::ifstream base_in(base_spec->source_path);
    base_spec_json = nlohmann::json::parse(base_in, nullptr, false);
    if (base_spec_json.is_discarded() || !base_spec_json.is_object())
      base_spec_json = nlohmann::json::object();
  }
  auto write_model = [&](const std::map<std::string, at::Tensor>& weights,
                         const fs::path& dir) -> Result<std::string> {
    OnnxGraph g = export_graph;
    for (const auto& [pname, t] : weights) {
      g.set_float_initializer(pname, pname == stem ? t.detach() / input_scale : t.detach());
    }
    const std::string bytes = g.serialize();
    const fs::path onnx_path = dir / (o.name + ".onnx");
    if (auto st = dataset::write_file_atomic(onnx_path.string(), bytes); !st) return st.error();
    auto digest = sha256_file(onnx_path.string());
    if (!digest) return digest.error();
    nlohmann::json sj = base_spec_json;
    sj["name"] = spec.name;
    sj["description"] = spec.description;
    sj["labels"] = spec.labels;
    sj["weights"] = {{"file", o.name + ".onnx"}, {"sha256", *digest}};
    sj["input"]["width"] = input_w;
    sj["input"]["height"] = input_h;
    sj["trained_from"] = base_spec->name;
    for (const auto& [key, value] : decoder_fields.items()) sj["decoder"][key] = value;
    const fs::path spec_path = dir / (o.name + ".json");
    if (auto st = dataset::write_file_atomic(spec_path.string(), sj.dump(2) + "\n"); !st) return st.error();
    return spec_path.string();
  };

  // Output folders.
  const fs::path final_dir = fs::path(o.out) / o.name;
  if (partial.empty()) partial = (fs::path(o.out) / ("." + o.name + ".partial")).string();
  std::error_code ec;
  if (fs::exists(final_dir, ec)) {
    return invalid(final_dir.string() + " already exists; choose another --name or --out, or remove it");
  }
  if (o.resume.empty()) {
    fs::remove_all(partial, ec);  // a stale, never-resumed attempt
  }
  fs::create_directories(fs::path(partial) / "checkpoint", ec);
  if (ec) return Unexpected{ErrorCode::kIo, "cannot create " + partial + ": " + ec.message()};

  // Resume state.
  auto& params = net->mutable_parameters();
  std::map<std::string, at::Tensor> ema;
  Sgd sgd;
  int start_epoch = 0;
  double best_ap = -1;
  int best_epoch = 0;
  std::vector<nlohmann::json> log;
  std::uint64_t updates = 0;
  if (!state.is_null()) {
    auto bytes = dataset::read_text_file((fs::path(partial) / "checkpoint" / "weights.bin").string());
    if (!bytes) return bytes.error();
    auto tensors = decode_tensors(*bytes);
    if (!tensors) return Unexpected{ErrorCode::kInvalidArgument, partial + ": " + tensors.error().message};
    const c10::NoGradGuard no_grad;
    for (auto& [tname, t] : *tensors) {
      if (tname.rfind("param:", 0) == 0) {
        auto it = params.find(tname.substr(6));
        if (it == params.end() || it->second.sizes() != t.sizes())
          return invalid(partial + ": checkpoint does not fit");
        it->second.copy_(t);
      } else if (tname.rfind("ema:", 0) == 0) {
        ema[tname.substr(4)] = t;
      } else if (tname.rfind("mom:", 0) == 0) {
        sgd.momentum[tname.substr(4)] = t;
      }
    }
    start_epoch = state.value("epoch", 0);
    best_ap = state.value("best_ap", -1.0);
    best_epoch = state.value("best_epoch", 0);
    updates = state.value("updates", std::uint64_t{0});
    for (const auto& line : state.value("log", nlohmann::json::array())) log.push_back(line);
  }
  if (ema.empty()) {
    for (const auto& [pname, t] : params) ema[pname] = t.detach().clone();
  }

  // Images.
  if (cb.message) cb.message(split->description);
  const int cache_side = static_cast<int>(
      std::ceil(static_cast<double>(std::max(input_w, input_h)) * static_cast<double>(o.augment.scale_max)));
  auto train_images = load_train_images(*ds, split->train, class_of, cache_side);
  if (!train_images) return train_images.error();
  dataset::Dataset val_ds = *ds;
  val_ds.images.clear();
  val_ds.split_aliases.clear();
  for (std::size_t i : split->val) {
    val_ds.images.push_back(ds->images[i]);
    val_ds.images.back().split = "val";
  }
  FamilyRegistry families;
  register_all_families(families);
  RuntimeOptions runtime;
  runtime.intra_op_threads = o.threads;
  eval::ModelEvalOptions eval_options;
  eval_options.split = "val";
  eval_options.warmup_runs = 0;
  auto evaluate = [&](const std::string& spec_path) -> Result<eval::ModelEvalResult> {
    auto s = load_model_spec_file(spec_path);
    if (!s) return s.error();
    auto det = Detector::load(*s, repo, families, runtime);
    if (!det) return det.error();
    return eval::evaluate_model(**det, val_ds, eval_options);
  };

  // Schedule.
  const auto n_train = static_cast<int>(train_images->size());
  const int iters_per_epoch = std::max(1, (n_train + o.batch - 1) / o.batch);
  int epochs = o.epochs;
  if (epochs == 0) {
    // About 1200 updates, 10..60 epochs: ~15 minutes on 2 cores for ~450 images (docs/training.md).
    epochs = std::clamp(1200 / iters_per_epoch, 10, 60);
  }
  const double base_lr = o.lr > 0 ? o.lr : 0.01 * o.batch / 8.0;
  const int warmup_iters = std::min(iters_per_epoch * 2, 300);
  const int total_iters = epochs * iters_per_epoch;
  const double budget_s = o.time_budget_minutes * 60.0;

  TrainReport report;
  report.partial_dir = partial;
  const fs::path best_dir = fs::path(partial) / "best";
  fs::create_directories(best_dir, ec);
  const std::size_t plane = static_cast<std::size_t>(input_w) * static_cast<std::size_t>(input_h) * 3;
  double epoch_seconds = 0;
  for (int epoch = start_epoch; epoch < epochs; ++epoch) {
    if (o.stop != nullptr && o.stop->load()) {
      report.stop_reason = "interrupted";
      break;
    }
    if (budget_s > 0 && epoch > start_epoch && seconds_since(started) + epoch_seconds > budget_s) {
      report.stop_reason = "time budget";
      break;
    }
    const Clock::time_point epoch_start = Clock::now();
    std::mt19937 rng(
        static_cast<std::uint32_t>(o.seed * 1000003ULL + static_cast<std::uint64_t>(epoch) * 7919ULL + 1));
    std::vector<std::size_t> order(static_cast<std::size_t>(n_train));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    double sum_loss = 0;
    double sum_box = 0;
    double sum_obj = 0;
    double sum_cls = 0;
    double sum_dfl = 0;
    int steps = 0;
    double lr = base_lr;
    bool interrupted = false;
    double data_s = 0;
    double forward_s = 0;
    double loss_s = 0;
    double backward_s = 0;
    for (int it = 0; it < iters_per_epoch; ++it) {
      if (o.stop != nullptr && o.stop->load()) {
        interrupted = true;
        break;
      }
      const Clock::time_point t_batch = Clock::now();
      const auto first = static_cast<std::size_t>(it) * static_cast<std::size_t>(o.batch);
      const std::size_t count =
          std::min<std::size_t>(static_cast<std::size_t>(o.batch), order.size() - first);
      at::Tensor input = at::empty({static_cast<std::int64_t>(count), 3, input_h, input_w}, at::kFloat);
      std::vector<std::vector<GtBox>> targets;
      for (std::size_t b = 0; b < count; ++b) {
        targets.push_back(make_sample((*train_images)[order[first + b]], spec.preprocess, o.augment, rng,
                                      input_factor, input.data_ptr<float>() + b * plane));
      }
      const auto iter = static_cast<int>(updates);
      lr = iter < warmup_iters
               ? base_lr * (iter + 1) / warmup_iters
               : base_lr * (0.05 + 0.95 * 0.5 *
                                       (1 + std::cos(M_PI * (iter - warmup_iters) /
                                                     std::max(1, total_iters - warmup_iters))));
      const Clock::time_point t_forward = Clock::now();
      auto outputs = net->run(input, (*head)->outputs());
      if (!outputs) return outputs.error();
      const Clock::time_point t_loss = Clock::now();
      auto loss = (*head)->loss(*outputs, targets);
      if (!loss) return loss.error();
      const Clock::time_point t_backward = Clock::now();
      const double value = loss->total.item<double>();
      if (!std::isfinite(value)) {
        return Unexpected{ErrorCode::kInternal, "the loss diverged (" + std::to_string(value) +
                                                    ") at epoch " + std::to_string(epoch + 1) +
                                                    "; try a lower --lr"};
      }
      loss->total.backward();
      clip_grad_norm(params, 10.0);
      sgd.step(params, lr, 5e-4);
      ++updates;
      forward_s += std::chrono::duration<double>(t_loss - t_forward).count();
      loss_s += std::chrono::duration<double>(t_backward - t_loss).count();
      backward_s += seconds_since(t_backward);
      data_s += std::chrono::duration<double>(t_forward - t_batch).count();
      {
        const c10::NoGradGuard no_grad;
        const double decay = 0.9995 * (1.0 - std::exp(-static_cast<double>(updates) / 150.0));
        for (auto& [pname, t] : params) ema[pname].mul_(decay).add_(t.detach(), 1.0 - decay);
      }
      sum_loss += value;
      sum_box += loss->box;
      sum_obj += loss->obj;
      sum_cls += loss->cls;
      sum_dfl += loss->dfl;
      ++steps;
    }
    if (interrupted) {
      report.stop_reason = "interrupted";
      break;
    }
    const double train_s = seconds_since(epoch_start);

    // Score the EMA weights with the real runtime and evaluator.
    auto spec_path = write_model(ema, fs::path(partial));
    if (!spec_path) return spec_path.error();
    auto result = evaluate(*spec_path);
    if (!result) return result.error();
    EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.epochs = epochs;
    rec.loss = sum_loss / std::max(1, steps);
    rec.box_loss = sum_box / std::max(1, steps);
    rec.obj_loss = sum_obj / std::max(1, steps);
    rec.cls_loss = sum_cls / std::max(1, steps);
    rec.dfl_loss = sum_dfl / std::max(1, steps);
    rec.lr = lr;
    rec.ap = std::max(0.0, result->metrics.stats[0]);
    rec.ap50 = std::max(0.0, result->metrics.stats[1]);
    rec.images_per_second = train_s > 0 ? n_train / train_s : 0;
    rec.ms_per_image = {1000 * data_s / n_train, 1000 * forward_s / n_train, 1000 * loss_s / n_train,
                        1000 * backward_s / n_train};
    rec.eval_s = seconds_since(epoch_start) - train_s;
    epoch_seconds = seconds_since(epoch_start);
    rec.elapsed_s = seconds_since(started);
    rec.eta_s = epoch_seconds * (epochs - epoch - 1);
    if (rec.ap > best_ap) {
      best_ap = rec.ap;
      best_epoch = rec.epoch;
      rec.best = true;
      for (const char* ext : {".onnx", ".json"}) {
        fs::copy_file(fs::path(partial) / (o.name + ext), best_dir / (o.name + ext),
                      fs::copy_options::overwrite_existing, ec);
        if (ec) return Unexpected{ErrorCode::kIo, "cannot write " + best_dir.string() + ": " + ec.message()};
      }
    }
    log.push_back(to_json(rec));
    std::string log_text;
    for (const auto& line : log) log_text += line.dump() + "\n";
    if (auto st = dataset::write_file_atomic((fs::path(partial) / "train_log.jsonl").string(), log_text);
        !st) {
      return st.error();
    }
    // Checkpoint: weights, EMA, momentum and where we are.
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& [pname, t] : params) tensors.emplace_back("param:" + pname, t);
    for (const auto& [pname, t] : ema) tensors.emplace_back("ema:" + pname, t);
    for (const auto& [pname, t] : sgd.momentum) tensors.emplace_back("mom:" + pname, t);
    if (auto st = dataset::write_file_atomic((fs::path(partial) / "checkpoint" / "weights.bin").string(),
                                             encode_tensors(tensors));
        !st) {
      return st.error();
    }
    nlohmann::json st_json = {{"options", options_to_json(o)}, {"epoch", epoch + 1}, {"best_ap", best_ap},
                              {"best_epoch", best_epoch},      {"updates", updates}, {"log", log}};
    if (auto st = dataset::write_file_atomic((fs::path(partial) / "checkpoint" / "state.json").string(),
                                             st_json.dump());
        !st) {
      return st.error();
    }
    if (cb.epoch) cb.epoch(rec);
  }
  report.best_epoch = best_epoch;
  if (report.stop_reason == "interrupted" || best_epoch == 0) {
    report.finished = false;
    if (best_epoch == 0 && report.stop_reason.empty()) report.stop_reason = "no epoch completed";
    return report;  // the partial folder stays, with its checkpoint, for --resume
  }

  // Finish: best weights, metrics (base and trained), reference detections, then publish atomically.
  for (const char* ext : {".onnx", ".json"}) {
    fs::copy_file(best_dir / (o.name + ext), fs::path(partial) / (o.name + ext),
                  fs::copy_options::overwrite_existing, ec);
    if (ec) return Unexpected{ErrorCode::kIo, "cannot write " + partial + ": " + ec.message()};
  }
  const std::string final_spec = (fs::path(partial) / (o.name + ".json")).string();
  auto trained = evaluate(final_spec);
  if (!trained) return trained.error();
  nlohmann::json base_metrics;
  {
    auto det = Detector::load(*base_spec, repo, families, runtime);
    if (!det) return det.error();
    auto base_result = eval::evaluate_model(**det, val_ds, eval_options);
    if (base_result) {
      base_metrics = eval::to_json(base_result->metrics);
    } else {
      // No class of the data set is a class of the base model: it scores 0 by construction.
      nlohmann::json per_class = nlohmann::json::array();
      for (const std::string& c : classes) per_class.push_back({{"name", c}, {"AP", 0.0}, {"AP50", 0.0}});
      base_metrics = {{"stats", {{"AP", 0.0}, {"AP50", 0.0}}},
                      {"per_class", per_class},
                      {"note", "scores 0 by construction: " + base_result.error().message}};
    }
  }
  report.metrics = {{"model", o.name},
                    {"base_model", base_spec->name},
                    {"data", o.data},
                    {"split", split->description},
                    {"validation_images", split->val.size()},
                    {"training_images", split->train.size()},
                    {"classes", classes},
                    {"best_epoch", best_epoch},
                    {"epochs_run", log.size()},
                    {"stop_reason", report.stop_reason},
                    {"wall_s", std::round(seconds_since(started) * 10) / 10},
                    {"base", base_metrics},
                    {"trained", eval::to_json(trained->metrics)}};
  if (auto st = dataset::write_file_atomic((fs::path(partial) / "metrics.json").string(),
                                           report.metrics.dump(2) + "\n");
      !st) {
    return st.error();
  }
  {
    auto s = load_model_spec_file(final_spec);
    if (!s) return s.error();
    auto det = Detector::load(*s, repo, families, runtime);
    if (!det) return det.error();
    nlohmann::json ref = {
        {"model", o.name},
        {"runtime", "ONNX Runtime, CPU (visearch train)"},
        {"score_threshold", s->defaults.score_threshold},
        {"nms", "class-aware, IoU " + std::to_string(s->defaults.iou_threshold).substr(0, 4)},
        {"box_format", "x1,y1,x2,y2 in original-image pixels"},
        {"images", nlohmann::json::object()}};
    for (int i = 0; i < o.reference_images && i < static_cast<int>(split->val.size()); ++i) {
      const dataset::ImageRecord& rec = ds->images[split->val[static_cast<std::size_t>(i)]];
      auto bytes = read_file_bytes(rec.path, 256ULL << 20, FileKind::kRegularOnly);
      if (!bytes) return bytes.error();
      auto img = decode_image(*bytes, DecodeLimits{});
      if (!img) return img.error();
      auto out = (*det)->detect(img->image, DetectOptions{});
      if (!out) return out.error();
      nlohmann::json dets = nlohmann::json::array();
      for (const Detection& d : out->detections) {
        dets.push_back({{"label", s->labels[static_cast<std::size_t>(d.class_id)]},
                        {"class_index", d.class_id},
                        {"score", std::round(static_cast<double>(d.score) * 1e4) / 1e4},
                        {"box", {d.box.x1, d.box.y1, d.box.x2, d.box.y2}}});
      }
      auto digest = sha256_file(rec.path);
      ref["images"][fs::path(rec.path).filename().string()] = {{"path", fs::absolute(rec.path).string()},
                                                               {"sha256", digest ? *digest : ""},
                                                               {"width", img->image.width},
                                                               {"height", img->image.height},
                                                               {"detections", dets}};
    }
    if (auto st = dataset::write_file_atomic((fs::path(partial) / "reference_detections.json").string(),
                                             ref.dump(1) + "\n");
        !st) {
      return st.error();
    }
  }
  fs::remove_all(best_dir, ec);
  fs::remove_all(fs::path(partial) / "checkpoint", ec);
  fs::rename(partial, final_dir, ec);
  if (ec) return Unexpected{ErrorCode::kIo, "cannot publish " + final_dir.string() + ": " + ec.message()};
  report.finished = true;
  report.partial_dir.clear();
  report.model_dir = final_dir.string();
  report.spec_path = (final_dir / (o.name + ".json")).string();
  return report;
}

}  // namespace visearch::train
