#include "labeling/label_map.h"
#include "core/json_text.h"

#include <algorithm>
#include <set>

#include "dataset/atomic_file.h"
#include "dataset/class_map.h"
#include "dataset/dataset.h"

namespace visearch::labeling {

using nlohmann::json;

namespace {

Error invalid(const std::string& origin, const std::string& message) {
  return Error{ErrorCode::kInvalidArgument, origin + ": " + message};
}

constexpr std::uint64_t kMaxMapBytes = 4U << 20U;

}  // namespace

Result<LabelMapFile> parse_label_map(std::string_view json_text, const std::string& origin) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return invalid(origin, std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) return invalid(origin, "a label mapping must be a JSON object with a \"map\" object");
  LabelMapFile out;
  out.origin = origin;
  const auto map = doc.find("map");
  if (map == doc.end() || !map->is_object()) {
    return invalid(origin, R"("map" must be an object {"detector label": "data-set class" or null})");
  }
  for (const auto& [label, target] : map->items()) {
    if (label.empty()) return invalid(origin, "\"map\" has an empty detector label");
    if (target.is_null()) {
      out.entries.emplace_back(label, std::nullopt);
    } else if (target.is_string() && !target.get<std::string>().empty()) {
      out.entries.emplace_back(label, target.get<std::string>());
    } else {
      return invalid(origin,
                     "map[\"" + label + "\"] must be a class name or null, got " + to_json_text(target));
    }
  }
  if (const auto classes = doc.find("classes"); classes != doc.end()) {
    if (!classes->is_array()) return invalid(origin, "\"classes\" must be an array of class names");
    std::set<std::string> seen;
    for (const json& c : *classes) {
      if (!c.is_string() || c.get<std::string>().empty()) {
        return invalid(origin, "\"classes\" must hold non-empty names, got " + to_json_text(c));
      }
      if (!seen.insert(c.get<std::string>()).second) {
        return invalid(origin, "\"classes\" lists '" + c.get<std::string>() + "' twice");
      }
      out.classes.push_back(c.get<std::string>());
    }
  }
  if (const auto same = doc.find("same_names"); same != doc.end()) {
    if (!same->is_boolean()) return invalid(origin, "\"same_names\" must be true or false");
    out.same_names = same->get<bool>();
  }
  return out;
}

Result<LabelMapFile> load_label_map(const std::string& path) {
  auto text = dataset::read_text_file(path, kMaxMapBytes);
  if (!text) return text.error();
  return parse_label_map(*text, path);
}

Result<LabelMapping> LabelMapping::build(const std::string& model_name,
                                         const std::vector<std::string>& model_labels,
                                         const std::vector<std::string>& classes, const LabelMapFile* file) {
  LabelMapping mapping;
  mapping.model_ = model_name;
  mapping.labels_ = model_labels;
  mapping.to_class_.assign(model_labels.size(), -1);
  const bool same_names = file == nullptr || file->same_names;
  if (same_names) {
    auto synonyms = dataset::load_default_class_map();
    const dataset::ClassMap map = synonyms ? *synonyms : dataset::ClassMap{};
    const dataset::ClassMatch match = dataset::match_classes(classes, model_labels, map);
    for (std::size_t c = 0; c < match.to_model.size(); ++c) {
      const int m = match.to_model[c];
      if (m >= 0 && static_cast<std::size_t>(m) < mapping.to_class_.size() && mapping.to_class_[m] < 0) {
        mapping.to_class_[m] = static_cast<int>(c);
      }
    }
  }
  if (file != nullptr) {
    mapping.source_ = file->origin;
    std::set<std::string> seen;
    for (const auto& [label, target] : file->entries) {
      const auto it = std::find(model_labels.begin(), model_labels.end(), label);
      if (it == model_labels.end()) {
        std::string message = "map key '";
        message.append(label).append("' is not a label of model ").append(model_name);
        message.append(" (see `visearch models` for its labels)");
        return invalid(file->origin, message);
      }
      if (!seen.insert(label).second) return invalid(file->origin, "map key '" + label + "' appears twice");
      const std::size_t m = static_cast<std::size_t>(it - model_labels.begin());
      if (!target) {
        mapping.to_class_[m] = -1;
        continue;
      }
      const auto c = std::find(classes.begin(), classes.end(), *target);
      if (c == classes.end()) {
        return invalid(file->origin,
                       "map[\"" + label + "\"] = '" + *target + "' is not a class of the data set");
      }
      mapping.to_class_[m] = static_cast<int>(c - classes.begin());
    }
  }
  return mapping;
}

int LabelMapping::to_class(int model_class) const {
  if (model_class < 0 || static_cast<std::size_t>(model_class) >= to_class_.size()) return -1;
  return to_class_[static_cast<std::size_t>(model_class)];
}

std::size_t LabelMapping::mapped_labels() const {
  return static_cast<std::size_t>(
      std::count_if(to_class_.begin(), to_class_.end(), [](int c) { return c >= 0; }));
}

json LabelMapping::to_json(const std::vector<std::string>& classes) const {
  json pairs = json::array();
  std::vector<bool> reached(classes.size(), false);
  for (std::size_t m = 0; m < to_class_.size(); ++m) {
    const int c = to_class_[m];
    if (c < 0 || static_cast<std::size_t>(c) >= classes.size()) continue;
    reached[static_cast<std::size_t>(c)] = true;
    pairs.push_back(
        {{"label", labels_[m]}, {"class", classes[static_cast<std::size_t>(c)]}, {"class_id", c}});
  }
  json unmapped = json::array();
  for (std::size_t c = 0; c < classes.size(); ++c) {
    if (!reached[c]) unmapped.push_back(classes[c]);
  }
  return json{{"model", model_},
              {"source", source_.empty() ? json(nullptr) : json(source_)},
              {"pairs", pairs},
              {"classes_without_label", unmapped}};
}

}  // namespace visearch::labeling
