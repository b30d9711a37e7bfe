// ModelSpec: everything needed to run a model, declared as data in a JSON file
// under models/ (or a user's own file). Nothing is guessed from the graph:
// family, input size, resize mode, channel order, normalisation, labels,
// decoder parameters and default thresholds all come from here.
// See README.md "Model spec format" for the schema.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/geometry.h"
#include "core/input_transform.h"
#include "core/result.h"

namespace visearch {

enum class ChannelOrder { kRgb, kBgr };
enum class Interpolation { kLinear, kArea, kCubic, kNearest };
// How the input tensor is laid out and typed: NCHW float (most exports), NHWC (TensorFlow; the TF Object
// Detection API takes uint8 NHWC), or CHW without a batch axis (torchvision detection models).
enum class TensorLayout { kNchw, kNhwc, kChw };
enum class TensorType { kFloat32, kUint8 };

// A file the model needs (weights, anchors), relative to a model directory,
// with its expected sha256 (empty = not checked).
struct FileRef {
  std::string file;
  std::string sha256;
  std::string base_dir;  // the spec file's folder, searched first (a trained model's folder); "" = none
};

struct PreprocessSpec {
  // The input size for stretch and letterbox. For keep_aspect the tensor's size follows each image and
  // this is only nominal (max_side or min_side squared, what the decode shrink aims at).
  Size size;
  ResizeMode resize = ResizeMode::kStretch;
  int min_side = 0;  // keep_aspect bounds ("min_side", "max_side" in the spec); 0 = none
  int max_side = 0;
  TensorLayout layout = TensorLayout::kNchw;
  TensorType type = TensorType::kFloat32;  // uint8: the resized pixels as they are (no mean/std)
  SizeRounding letterbox_rounding = SizeRounding::kFloor;
  Interpolation interpolation = Interpolation::kLinear;
  int pad_value = 0;  // 0..255, before normalisation
  // A big JPEG may be decoded shrunk (DCT scaling) as long as it stays this many times larger than what the
  // resize keeps of it ("decode_shrink_headroom" in the spec; 0 = always decode at full size, the default).
  // Measured per model: how far its boxes move against a full decode (tests/golden/phone_photo_test).
  float decode_shrink_headroom = 0.F;
  // The most images one forward pass may take ("max_batch" in the spec; 0 = as the graph's input declares:
  // a dynamic batch dimension takes up to Detector's cap, a fixed one its own size). 1 turns batching off
  // for a graph that declares a dynamic batch but cannot run one.
  int max_batch = 0;
  ChannelOrder channel_order = ChannelOrder::kRgb;
  std::array<float, 3> mean{0.F, 0.F, 0.F};  // in the tensor's channel order, 0..255 units
  std::array<float, 3> std{1.F, 1.F, 1.F};
};

struct ThresholdDefaults {
  float score_threshold = 0.5F;
  float iou_threshold = 0.45F;
  int max_detections = 100;
};

struct ModelSpec {
  std::string name;
  std::string family;
  std::string task = "detect";  // "detect" or "embed"
  std::string description;
  std::string license;
  FileRef weights;
  std::map<std::string, FileRef> extra_files;  // e.g. "anchors"
  PreprocessSpec preprocess;
  std::vector<std::string> labels;
  nlohmann::json decoder = nlohmann::json::object();  // family-specific parameters
  // Training layout (src/train): where the backbone and neck end, the prediction convs per stride, the
  // input scale folded into the stem while training. Empty when the model cannot be fine-tuned.
  nlohmann::json train = nlohmann::json::object();
  ThresholdDefaults defaults;
  std::string source_path;  // the spec file it was read from

  [[nodiscard]] int class_id_of(std::string_view label) const;  // -1 when absent
};

// Parses and validates a spec. `origin` names the file in error messages.
Result<ModelSpec> parse_model_spec(const nlohmann::json& doc, const std::string& origin);
Result<ModelSpec> load_model_spec_file(const std::string& path);

std::string_view channel_order_name(ChannelOrder order);
std::string_view interpolation_name(Interpolation interp);
std::string_view tensor_layout_name(TensorLayout layout);

}  // namespace visearch
