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

Result<std::vector<Tensor>> batch_item(const std::vector<Tensor>& outputs, std::size_t item,
                                       std::size_t batch) {
  std::vector<Tensor> slice;
  slice.reserve(outputs.size());
  for (const Tensor& t : outputs) {
    if (t.shape.empty() || t.shape[0] != static_cast<std::int64_t>(batch) || item >= batch ||
        t.data.size() % batch != 0) {
      return Unexpected{ErrorCode::kInference,
                        "output " + describe_outputs({t}) + " does not have the input's batch of " +
                            std::to_string(batch) +
                            " as its first dimension; give the spec's input \"max_batch\": 1"};
    }
    const std::size_t per_item = t.data.size() / batch;
    Tensor part;
    part.name = t.name;
    part.shape = t.shape;
    part.shape[0] = 1;
    const auto from = t.data.begin() + static_cast<std::ptrdiff_t>(item * per_item);
    part.data.assign(from, from + static_cast<std::ptrdiff_t>(per_item));
    slice.push_back(std::move(part));
  }
  return slice;
}

}  // namespace visearch
