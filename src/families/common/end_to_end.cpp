#include "families/common/end_to_end.h"

#include <algorithm>
#include <cmath>

namespace visearch {
namespace {

// The 80 COCO detection categories' ids in the 91-id map, in label order (person .. toothbrush).
constexpr int kCoco91Ids[80] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 13, 14, 15, 16, 17,
                                18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36,
                                37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53,
                                54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73,
                                74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90};

constexpr int kMaxGraphId = 100000;

Unexpected spec_error(const ModelSpec& spec, const std::string& what) {
  return Unexpected{ErrorCode::kInvalidSpec, spec.source_path + ": decoder." + what};
}

}  // namespace

Result<ClassIdMap> ClassIdMap::from_spec(const ModelSpec& spec, int default_offset) {
  ClassIdMap map;
  const std::size_t n = spec.labels.size();
  const nlohmann::json& decoder = spec.decoder;
  if (decoder.contains("class_ids") && decoder.contains("class_id_offset")) {
    return spec_error(spec, "class_ids and decoder.class_id_offset exclude each other");
  }
  if (decoder.contains("class_ids")) {
    const nlohmann::json& ids = decoder["class_ids"];
    if (ids.is_string() && ids.get<std::string>() == "coco91") {
      if (n != 80) return spec_error(spec, "class_ids \"coco91\" needs the 80 COCO labels, in order");
      map.graph_ids_.assign(std::begin(kCoco91Ids), std::end(kCoco91Ids));
    } else if (ids.is_array() && ids.size() == n) {
      for (const auto& id : ids) {
        if (!id.is_number_integer()) return spec_error(spec, "class_ids must hold integers");
        map.graph_ids_.push_back(id.get<int>());
      }
    } else {
      return spec_error(spec, "class_ids must be \"coco91\" or an array of one graph id per label");
    }
  } else {
    const nlohmann::json offset = decoder.value("class_id_offset", nlohmann::json(default_offset));
    if (!offset.is_number_integer()) return spec_error(spec, "class_id_offset must be an integer");
    for (std::size_t i = 0; i < n; ++i) map.graph_ids_.push_back(static_cast<int>(i) + offset.get<int>());
  }
  int max_id = 0;
  for (int id : map.graph_ids_) {
    if (id < 0 || id > kMaxGraphId) return spec_error(spec, "class ids must be in 0..100000");
    max_id = std::max(max_id, id);
  }
  map.label_of_graph_.assign(static_cast<std::size_t>(max_id) + 1, -1);
  for (std::size_t label = 0; label < n; ++label) {
    int& slot = map.label_of_graph_[static_cast<std::size_t>(map.graph_ids_[label])];
    if (slot >= 0) return spec_error(spec, "class_ids gives two labels the same graph id");
    slot = static_cast<int>(label);
  }
  return map;
}

int ClassIdMap::label_of(float graph_id) const {
  if (!(graph_id >= 0.F) || graph_id >= static_cast<float>(label_of_graph_.size())) return -1;
  const float rounded = std::round(graph_id);
  if (rounded != graph_id) return -1;  // not an integer id
  return label_of_graph_[static_cast<std::size_t>(rounded)];
}

Result<bool> spec_nms(const ModelSpec& spec) {
  const nlohmann::json value = spec.decoder.value("nms", nlohmann::json(false));
  if (!value.is_boolean()) return spec_error(spec, "nms must be true or false");
  return value.get<bool>();
}

Result<std::string> spec_output_name(const ModelSpec& spec, const std::string& role,
                                     const std::string& fallback) {
  if (!spec.decoder.contains("outputs")) return fallback;
  const nlohmann::json& outputs = spec.decoder["outputs"];
  if (!outputs.is_object()) return spec_error(spec, "outputs must be an object of role: output name");
  if (!outputs.contains(role)) return fallback;
  if (!outputs[role].is_string() || outputs[role].get<std::string>().empty()) {
    return spec_error(spec, "outputs." + role + " must be an output name");
  }
  return outputs[role].get<std::string>();
}

Result<const Tensor*> named_output(const std::vector<Tensor>& outputs, const std::string& name,
                                   const std::string& family) {
  const Tensor* t = find_output(outputs, name);
  if (t == nullptr) {
    return Unexpected{ErrorCode::kInference, family + ": the graph has no output '" + name + "' (it has " +
                                                 describe_outputs(outputs) +
                                                 "); name the outputs in the spec's decoder.outputs"};
  }
  return t;
}

}  // namespace visearch
