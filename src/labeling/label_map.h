// Label mapping: turns a detector's labels into the data set's classes, so a COCO detector can pre-label a
// data set whose classes are not COCO's (the original project's 5 product classes).
//
// Mapping file (JSON; examples in data/label_maps/):
//
//   {
//     "description": "free text",
//     "classes": ["bottle", "mug", "bag"],      // optional: the class list for a NEW data set
//     "map": {"bottle": "bottle", "cup": "mug", "wine glass": null, "handbag": "bag", "backpack": "bag"},
//     "same_names": true                          // optional, default true
//   }
//
// - "map": detector label -> data-set class name; null drops that label explicitly. Several detector
//   labels may map to one class.
// - "same_names": detector labels not in "map" also map to the class of the same name, where names match
//   after dataset::normalize_class_name() or through the shipped class-name synonyms (data/class_maps/,
//   e.g. VOC "aeroplane" == COCO "airplane"). With false, only "map" entries produce proposals.
// Without a mapping file, "same_names" alone applies.
//
// Failure modes: kNotFound (missing file); kInvalidArgument naming the file and the entry for malformed
// JSON, a key that is not a label of the model, or a value that is not a class of the data set.
// Thread-safety: plain values; LabelMapping is immutable after build().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace visearch::labeling {

struct LabelMapFile {
  std::string origin;                                                       // the file it was read from
  std::vector<std::pair<std::string, std::optional<std::string>>> entries;  // in file order
  std::vector<std::string> classes;                                         // "classes", empty when absent
  bool same_names = true;
};

Result<LabelMapFile> parse_label_map(std::string_view json_text, const std::string& origin);
Result<LabelMapFile> load_label_map(const std::string& path);

class LabelMapping {
 public:
  LabelMapping() = default;

  // `file` may be null (same-name matching only). `model_name` is used in messages.
  static Result<LabelMapping> build(const std::string& model_name,
                                    const std::vector<std::string>& model_labels,
                                    const std::vector<std::string>& classes, const LabelMapFile* file);

  // Data-set class of a model class id; -1 when that label is not mapped (or the id is out of range).
  [[nodiscard]] int to_class(int model_class) const;
  [[nodiscard]] std::size_t mapped_labels() const;
  // {"model", "source", "pairs": [{"label", "class"}], "unmapped_classes": [...]} for the UI.
  [[nodiscard]] nlohmann::json to_json(const std::vector<std::string>& classes) const;

 private:
  std::string model_;
  std::string source_;  // mapping file, "" for same-name matching
  std::vector<std::string> labels_;
  std::vector<int> to_class_;  // model class id -> data-set class id or -1
};

}  // namespace visearch::labeling
