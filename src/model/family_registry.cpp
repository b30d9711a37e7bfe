#include "model/family_registry.h"

namespace visearch {

void FamilyRegistry::add(const std::string& family, DecoderFactory factory) {
  VISEARCH_ASSERT(factories_.count(family) == 0, "family registered twice");
  factories_.emplace(family, std::move(factory));
}

Result<std::unique_ptr<Decoder>> FamilyRegistry::create(const DecoderContext& context) const {
  auto it = factories_.find(context.spec.family);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& [name, factory] : factories_) known += (known.empty() ? "" : ", ") + name;
    return Unexpected{ErrorCode::kInvalidSpec, context.spec.source_path + ": unknown family '" +
                                                   context.spec.family + "' (known: " + known + ")"};
  }
  try {
    return it->second(context);
  } catch (const std::exception& e) {  // e.g. nlohmann type errors in decoder params
    return Unexpected{ErrorCode::kInvalidSpec,
                      context.spec.source_path + ": decoder parameters: " + e.what()};
  }
}

std::vector<std::string> FamilyRegistry::families() const {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories_) names.push_back(name);
  return names;
}

const Tensor* find_output(const std::vector<Tensor>& outputs, const std::string& name) {
  for (const Tensor& t : outputs) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const Tensor* find_output_by_shape(const std::vector<Tensor>& outputs,
                                   const std::vector<std::int64_t>& shape) {
  for (const Tensor& t : outputs) {
    if (t.shape == shape) return &t;
  }
  return nullptr;
}

std::string describe_outputs(const std::vector<Tensor>& outputs) {
  std::string text;
  for (const Tensor& t : outputs) {
    text += (text.empty() ? "" : ", ") + t.name + "[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) text += (i ? "x" : "") + std::to_string(t.shape[i]);
    text += "]";
  }
  return text;
}

}  // namespace visearch
