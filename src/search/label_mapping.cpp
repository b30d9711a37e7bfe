#include "search/label_mapping.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/install_layout.h"

namespace visearch::search {
namespace {

Unexpected bad(const std::string& origin, const std::string& what) {
  return Unexpected{ErrorCode::kInvalidArgument, "label mapping " + origin + ": " + what};
}

Result<std::vector<std::string>> string_list(const nlohmann::json& node, const std::string& origin,
                                             const std::string& field) {
  std::vector<std::string> out;
  if (!node.is_array()) return bad(origin, field + " must be an array of strings");
  for (const auto& item : node) {
    if (!item.is_string() || item.get_ref<const std::string&>().empty()) {
      return bad(origin, field + " must hold non-empty strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

std::string to_lower_ascii(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string default_label_mapping_path() {
  return find_resource("data/search/label_mapping.json").string();
}

Result<LabelMapping> LabelMapping::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected{ErrorCode::kNotFound, "label mapping file not found: " + path};
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

Result<LabelMapping> LabelMapping::parse(const std::string& json_text, const std::string& origin) {
  const nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad(origin, "not a JSON object");
  if (doc.value("version", 0) != 1) return bad(origin, "\"version\" must be 1");
  LabelMapping mapping;
  if (doc.contains("weights")) {
    const nlohmann::json& w = doc["weights"];
    if (!w.is_object()) return bad(origin, "\"weights\" must be an object");
    for (const FusionWeightField& f : kFusionWeightFields) {
      if (!w.contains(f.name)) continue;
      if (!w[f.name].is_number() || w[f.name].get<double>() < 0.0 || w[f.name].get<double>() > 1.0) {
        return bad(origin, std::string("weights.") + f.name + " must be a number in [0, 1]");
      }
      mapping.weights_.*f.field = w[f.name].get<double>();
    }
    if (mapping.weights_.visual + mapping.weights_.label <= 0.0)
      return bad(origin, "weights must not both be 0");
  }
  if (doc.contains("min_score")) {
    const nlohmann::json& m = doc["min_score"];
    if (!m.is_object()) return bad(origin, "\"min_score\" must be an object");
    for (const auto& [key, v] : m.items()) {
      if (key != "fused" && key != "visual" && key != "label")
        return bad(origin, "min_score." + key + ": the rankings are fused, visual and label");
      if (!v.is_number() || v.get<double>() < 0.0 || v.get<double>() > 1.0)
        return bad(origin, "min_score." + key + " must be a number in [0, 1]");
      mapping.min_score_[key] = v.get<double>();
    }
  }
  if (!doc.contains("labels") || !doc["labels"].is_object())
    return bad(origin, "\"labels\" must be an object");
  for (const auto& [label, entry] : doc["labels"].items()) {
    if (label.empty()) return bad(origin, "empty label name");
    if (!entry.is_object()) return bad(origin, "labels." + label + " must be an object");
    LabelTerms terms;
    if (entry.contains("categories")) {
      auto list = string_list(entry["categories"], origin, "labels." + label + ".categories");
      if (!list) return list.error();
      terms.categories = std::move(*list);
    }
    if (entry.contains("keywords")) {
      auto list = string_list(entry["keywords"], origin, "labels." + label + ".keywords");
      if (!list) return list.error();
      terms.keywords = std::move(*list);
    }
    if (std::find(terms.keywords.begin(), terms.keywords.end(), label) == terms.keywords.end()) {
      terms.keywords.insert(terms.keywords.begin(), label);
    }
    mapping.labels_[to_lower_ascii(label)] = std::move(terms);
  }
  return mapping;
}

LabelTerms LabelMapping::terms(const std::string& label) const {
  auto it = labels_.find(to_lower_ascii(label));
  if (it != labels_.end()) return it->second;
  LabelTerms terms;
  if (!label.empty()) terms.keywords.push_back(label);
  return terms;
}

std::string LabelMapping::primary_category(const std::string& label) const {
  auto it = labels_.find(to_lower_ascii(label));
  return it == labels_.end() || it->second.categories.empty() ? std::string() : it->second.categories.front();
}

}  // namespace visearch::search
