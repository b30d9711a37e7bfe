#include "model/model_spec.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace visearch {
namespace {

Unexpected spec_error(const std::string& origin, const std::string& what) {
  return Unexpected{ErrorCode::kInvalidSpec, origin + ": " + what};
}

Result<FileRef> parse_file_ref(const nlohmann::json& node, const std::string& origin,
                               const std::string& key) {
  FileRef ref;
  if (node.is_string()) {
    ref.file = node.get<std::string>();
  } else if (node.is_object() && node.contains("file") && node["file"].is_string()) {
    ref.file = node["file"].get<std::string>();
    if (node.contains("sha256")) {
      if (!node["sha256"].is_string()) return spec_error(origin, key + ".sha256 must be a string");
      ref.sha256 = node["sha256"].get<std::string>();
      if (ref.sha256.size() != 64) return spec_error(origin, key + ".sha256 must be 64 hex digits");
    }
  } else {
    return spec_error(origin, key + R"( must be a file name or {"file": ..., "sha256": ...})");
  }
  if (ref.file.empty()) return spec_error(origin, key + ".file is empty");
  return ref;
}

Result<std::array<float, 3>> parse_triple(const nlohmann::json& node, const std::string& origin,
                                          const std::string& key) {
  if (!node.is_array() || node.size() != 3) return spec_error(origin, key + " must be an array of 3 numbers");
  std::array<float, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) {
    if (!node[i].is_number()) return spec_error(origin, key + " must be an array of 3 numbers");
    out[i] = node[i].get<float>();
  }
  return out;
}

}  // namespace

int ModelSpec::class_id_of(std::string_view label) const {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == label) return static_cast<int>(i);
  }
  return -1;
}

std::string_view channel_order_name(ChannelOrder order) {
  return order == ChannelOrder::kRgb ? "rgb" : "bgr";
}

std::string_view tensor_layout_name(TensorLayout layout) {
  switch (layout) {
    case TensorLayout::kNchw:
      return "nchw";
    case TensorLayout::kNhwc:
      return "nhwc";
    case TensorLayout::kChw:
      return "chw";
  }
  return "nchw";
}

std::string_view interpolation_name(Interpolation interp) {
  switch (interp) {
    case Interpolation::kLinear:
      return "linear";
    case Interpolation::kArea:
      return "area";
    case Interpolation::kCubic:
      return "cubic";
    case Interpolation::kNearest:
      return "nearest";
  }
  return "linear";
}

Result<ModelSpec> parse_model_spec(const nlohmann::json& doc, const std::string& origin) {
  try {
    if (!doc.is_object()) return spec_error(origin, "top level must be a JSON object");
    ModelSpec spec;
    for (const char* key : {"name", "family", "weights", "input"}) {
      if (!doc.contains(key)) return spec_error(origin, std::string("missing required field '") + key + "'");
    }
    spec.name = doc.at("name").get<std::string>();
    spec.family = doc.at("family").get<std::string>();
    if (spec.name.empty()) return spec_error(origin, "name is empty");
    spec.task = doc.value("task", std::string("detect"));
    if (spec.task != "detect" && spec.task != "embed")
      return spec_error(origin, "task must be detect or embed");
    spec.description = doc.value("description", std::string());
    spec.license = doc.value("license", std::string());
    auto weights = parse_file_ref(doc.at("weights"), origin, "weights");
    if (!weights) return weights.error();
    spec.weights = *weights;
    if (doc.contains("files")) {
      if (!doc["files"].is_object()) return spec_error(origin, "files must be an object");
      for (const auto& [key, node] : doc["files"].items()) {
        auto ref = parse_file_ref(node, origin, "files." + key);
        if (!ref) return ref.error();
        spec.extra_files[key] = *ref;
      }
    }

    const nlohmann::json& input = doc.at("input");
    PreprocessSpec& pre = spec.preprocess;
    auto resize = parse_resize_mode(input.value("resize", std::string("stretch")));
    if (!resize) return spec_error(origin, resize.error().message);
    pre.resize = *resize;
    if (pre.resize == ResizeMode::kKeepAspect) {
      // The tensor's size follows the image: bounded by min_side / max_side, not by width x height.
      if (input.contains("width") || input.contains("height")) {
        return spec_error(origin, "resize keep_aspect takes min_side / max_side, not width / height");
      }
      pre.min_side = input.value("min_side", 0);
      pre.max_side = input.value("max_side", 0);
      if (pre.min_side < 0 || pre.min_side > 8192 || pre.max_side < 0 || pre.max_side > 8192) {
        return spec_error(origin, "min_side / max_side must be in 1..8192");
      }
      if (pre.min_side > 0 && pre.max_side > 0 && pre.min_side > pre.max_side) {
        return spec_error(origin, "min_side must not exceed max_side");
      }
      const int nominal = pre.max_side > 0 ? pre.max_side : pre.min_side;
      pre.size = Size{nominal, nominal};
    } else {
      if (input.contains("min_side") || input.contains("max_side")) {
        return spec_error(origin, "min_side / max_side belong to resize keep_aspect");
      }
      pre.size.width = input.at("width").get<int>();
      pre.size.height = input.at("height").get<int>();
      if (pre.size.width <= 0 || pre.size.height <= 0 || pre.size.width > 8192 || pre.size.height > 8192) {
        return spec_error(origin, "input width/height must be in 1..8192");
      }
    }
    const std::string layout = input.value("layout", std::string("nchw"));
    if (layout == "nchw") {
      pre.layout = TensorLayout::kNchw;
    } else if (layout == "nhwc") {
      pre.layout = TensorLayout::kNhwc;
    } else if (layout == "chw") {
      pre.layout = TensorLayout::kChw;
    } else {
      return spec_error(origin, "input.layout must be nchw, nhwc or chw");
    }
    const std::string type = input.value("type", std::string("float32"));
    if (type != "float32" && type != "uint8")
      return spec_error(origin, "input.type must be float32 or uint8");
    pre.type = type == "float32" ? TensorType::kFloat32 : TensorType::kUint8;
    if (pre.type == TensorType::kUint8 &&
        (input.contains("mean") || input.contains("std") || input.contains("scale"))) {
      return spec_error(origin, "a uint8 input takes the pixels as they are: no mean, std or scale");
    }
    const std::string rounding = input.value("letterbox_rounding", std::string("floor"));
    if (rounding != "floor" && rounding != "nearest")
      return spec_error(origin, "letterbox_rounding must be floor or nearest");
    pre.letterbox_rounding = rounding == "floor" ? SizeRounding::kFloor : SizeRounding::kNearest;
    const std::string interp = input.value("interpolation", std::string("linear"));
    if (interp == "linear") {
      pre.interpolation = Interpolation::kLinear;
    } else if (interp == "area") {
      pre.interpolation = Interpolation::kArea;
    } else if (interp == "cubic") {
      pre.interpolation = Interpolation::kCubic;
    } else if (interp == "nearest") {
      pre.interpolation = Interpolation::kNearest;
    } else {
      return spec_error(origin, "interpolation must be linear, area, cubic or nearest");
    }
    pre.pad_value = input.value("pad_value", 0);
    if (pre.pad_value < 0 || pre.pad_value > 255) return spec_error(origin, "pad_value must be in 0..255");
    if (input.contains("decode_shrink_headroom")) {
      if (!input["decode_shrink_headroom"].is_number()) {
        return spec_error(origin, "decode_shrink_headroom must be a number (0 = off, else >= 1)");
      }
      pre.decode_shrink_headroom = input["decode_shrink_headroom"].get<float>();
      if (pre.decode_shrink_headroom != 0.F && !(pre.decode_shrink_headroom >= 1.F)) {
        return spec_error(origin, "decode_shrink_headroom must be 0 (off) or at least 1");
      }
      if (pre.decode_shrink_headroom != 0.F && pre.size.width == 0) {
        return spec_error(origin,
                          "decode_shrink_headroom needs a bounded input (keep_aspect: min_side or max_side)");
      }
    }
    if (input.contains("max_batch")) {
      if (!input["max_batch"].is_number_integer() || input["max_batch"].get<int>() < 1 ||
          input["max_batch"].get<int>() > 64) {
        return spec_error(origin, "input.max_batch must be an integer in 1..64");
      }
      pre.max_batch = input["max_batch"].get<int>();
    }
    const std::string order = input.value("channel_order", std::string("rgb"));
    if (order != "rgb" && order != "bgr") return spec_error(origin, "channel_order must be rgb or bgr");
    pre.channel_order = order == "rgb" ? ChannelOrder::kRgb : ChannelOrder::kBgr;
    if (input.contains("mean")) {
      auto mean = parse_triple(input["mean"], origin, "input.mean");
      if (!mean) return mean.error();
      pre.mean = *mean;
    }
    if (input.contains("std") && input.contains("scale"))
      return spec_error(origin, "give input.std or input.scale");
    if (input.contains("std")) {
      auto std_dev = parse_triple(input["std"], origin, "input.std");
      if (!std_dev) return std_dev.error();
      pre.std = *std_dev;
    } else if (input.contains("scale")) {
      const auto scale = input["scale"].get<float>();
      if (!(scale > 0.F)) return spec_error(origin, "input.scale must be > 0");
      pre.std = {1.F / scale, 1.F / scale, 1.F / scale};
    }
    for (float s : pre.std) {
      if (!(s > 0.F)) return spec_error(origin, "input.std values must be > 0");
    }

    if (doc.contains("labels")) {
      if (!doc["labels"].is_array()) return spec_error(origin, "labels must be an array of strings");
      for (const auto& label : doc["labels"]) spec.labels.push_back(label.get<std::string>());
    }
    if (spec.task == "detect" && spec.labels.empty()) return spec_error(origin, "a detector needs labels");
    if (doc.contains("decoder")) {
      if (!doc["decoder"].is_object()) return spec_error(origin, "decoder must be an object");
      spec.decoder = doc["decoder"];
    }
    if (doc.contains("train")) {
      if (!doc["train"].is_object()) return spec_error(origin, "train must be an object");
      spec.train = doc["train"];
    }
    if (doc.contains("defaults")) {
      const nlohmann::json& d = doc["defaults"];
      spec.defaults.score_threshold = d.value("score_threshold", spec.defaults.score_threshold);
      spec.defaults.iou_threshold = d.value("iou_threshold", spec.defaults.iou_threshold);
      spec.defaults.max_detections = d.value("max_detections", spec.defaults.max_detections);
    }
    spec.source_path = origin;
    return spec;
  } catch (const nlohmann::json::exception& e) {
    return spec_error(origin, std::string("wrong field type: ") + e.what());
  }
}

Result<ModelSpec> load_model_spec_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Unexpected{ErrorCode::kNotFound, "cannot open model spec " + path};
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded()) return Unexpected{ErrorCode::kInvalidSpec, path + ": not valid JSON"};
  auto spec = parse_model_spec(doc, path);
  if (!spec) return spec;
  // Files named by a spec that was given as a path are looked for beside it first.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  spec->weights.base_dir = dir.empty() ? "." : dir;
  for (auto& [key, ref] : spec->extra_files) ref.base_dir = spec->weights.base_dir;
  return spec;
}

}  // namespace visearch
