// Class-name mapping between a data set and a model: names match when equal after normalisation
// (lower case, spaces/'_'/'-' removed: "diningtable" == "dining table"), or through synonym pairs read
// from class-map files ({"map": {"aeroplane": "airplane", ...}}; pairs work in both directions).
// The repository ships data/class_maps/voc_to_coco.json; every *.json in that folder is loaded by
// load_default_class_map().
//
// Failure modes: kInvalidArgument (file:line) for a malformed map file; kNotFound for a missing one.
// Thread-safety: plain values; functions are reentrant.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace visearch::dataset {

struct ClassMap {
  // normalised name -> normalised synonyms
  std::map<std::string, std::vector<std::string>> synonyms;
  std::vector<std::string> sources;  // files it was read from

  void add(const std::string& a, const std::string& b);
  void merge(const ClassMap& other);
};

Result<ClassMap> parse_class_map(std::string_view json_text, const std::string& origin);
Result<ClassMap> load_class_map(const std::string& path);

// The folder of shipped maps (build-time VISEARCH_CLASS_MAP_DIR).
std::string default_class_map_dir();
// Every *.json in default_class_map_dir(); an empty map when the folder is absent.
Result<ClassMap> load_default_class_map();

struct ClassMatch {
  std::vector<int> to_model;           // data-set class id -> model class id, -1 when the model lacks it
  std::vector<std::string> unmatched;  // data-set names with no model class
  std::vector<std::pair<std::string, std::string>> renamed;  // (data-set name, model name), not identical
};

ClassMatch match_classes(const std::vector<std::string>& dataset_classes,
                         const std::vector<std::string>& model_labels, const ClassMap& map);

}  // namespace visearch::dataset
