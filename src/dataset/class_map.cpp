#include "dataset/class_map.h"

#include <algorithm>
#include <filesystem>

#include "core/install_layout.h"
#include "dataset/atomic_file.h"
#include "dataset/dataset.h"
#include "dataset/fs_util.h"
#include "dataset/json_lines.h"

namespace visearch::dataset {

namespace fs = std::filesystem;

void ClassMap::add(const std::string& a, const std::string& b) {
  const std::string na = normalize_class_name(a);
  const std::string nb = normalize_class_name(b);
  if (na == nb || na.empty() || nb.empty()) return;
  auto& la = synonyms[na];
  if (std::find(la.begin(), la.end(), nb) == la.end()) la.push_back(nb);
  auto& lb = synonyms[nb];
  if (std::find(lb.begin(), lb.end(), na) == lb.end()) lb.push_back(na);
}

void ClassMap::merge(const ClassMap& other) {
  for (const auto& [name, list] : other.synonyms) {
    for (const std::string& s : list) add(name, s);
  }
  sources.insert(sources.end(), other.sources.begin(), other.sources.end());
}

Result<ClassMap> parse_class_map(std::string_view json_text, const std::string& origin) {
  auto doc = parse_json_document(json_text, origin);
  if (!doc) return doc.error();
  const nlohmann::json& root = doc->value;
  const nlohmann::json* map = &root;
  if (root.is_object() && root.contains("map")) map = &root["map"];
  if (!map->is_object()) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      origin + R"(: a class map is {"map": {"data-set name": "model name", ...}})"};
  }
  ClassMap out;
  out.sources.push_back(origin);
  for (const auto& [from, to] : map->items()) {
    if (to.is_string()) {
      out.add(from, to.get<std::string>());
    } else if (to.is_array()) {
      for (const auto& t : to) {
        if (!t.is_string()) {
          std::string message = origin;
          message.append(": '").append(from).append("': names must be strings");
          return Unexpected{ErrorCode::kInvalidArgument, std::move(message)};
        }
        out.add(from, t.get<std::string>());
      }
    } else {
      std::string message = origin;
      message.append(": '").append(from).append("': the value must be a name or a list of names");
      return Unexpected{ErrorCode::kInvalidArgument, std::move(message)};
    }
  }
  return out;
}

Result<ClassMap> load_class_map(const std::string& path) {
  auto text = read_text_file(path, std::uint64_t{16} << 20U);
  if (!text) return text.error();
  return parse_class_map(*text, path);
}

std::string default_class_map_dir() {
  return find_resource("data/class_maps").string();
}

Result<ClassMap> load_default_class_map() {
  ClassMap out;
  const std::string dir = default_class_map_dir();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const fs::path& f :
       detail::list_files(dir, false, [](const fs::path& p) { return detail::has_extension(p, ".json"); })) {
    auto map = load_class_map(f.string());
    if (!map) return map.error();
    out.merge(*map);
  }
  return out;
}

ClassMatch match_classes(const std::vector<std::string>& dataset_classes,
                         const std::vector<std::string>& model_labels, const ClassMap& map) {
  ClassMatch out;
  std::map<std::string, int> model_by_norm;
  for (std::size_t i = 0; i < model_labels.size(); ++i) {
    model_by_norm.emplace(normalize_class_name(model_labels[i]), static_cast<int>(i));
  }
  for (const std::string& name : dataset_classes) {
    int id = -1;
    const auto exact = std::find(model_labels.begin(), model_labels.end(), name);
    if (exact != model_labels.end()) {
      id = static_cast<int>(exact - model_labels.begin());
    } else {
      const std::string norm = normalize_class_name(name);
      if (const auto it = model_by_norm.find(norm); it != model_by_norm.end()) {
        id = it->second;
      } else if (const auto syn = map.synonyms.find(norm); syn != map.synonyms.end()) {
        for (const std::string& s : syn->second) {
          if (const auto m = model_by_norm.find(s); m != model_by_norm.end()) {
            id = m->second;
            break;
          }
        }
      }
      if (id >= 0) out.renamed.emplace_back(name, model_labels[static_cast<std::size_t>(id)]);
    }
    out.to_model.push_back(id);
    if (id < 0) out.unmatched.push_back(name);
  }
  return out;
}

}  // namespace visearch::dataset
