#include "search/adaptation.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "dataset/atomic_file.h"
#include "io/image_decode.h"
#include "search/vector_index.h"

namespace visearch::search {
namespace {

static_assert(std::endian::native == std::endian::little, "adaptation files store little-endian floats");

constexpr std::string_view kMagic = "VSADAPT2";
constexpr std::string_view kOlderMagic = "VSADAPT1";  // one projection, no "heads"
constexpr std::uint32_t kMaxHeaderBytes = 16U << 20U;
constexpr int kMaxDim = 1 << 16;
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 30U;

Error malformed(const std::string& origin, const std::string& what) {
  return Error{ErrorCode::kIo, origin + ": not a usable catalog adaptation (" + what +
                                   "); rebuild it with `visearch catalog adapt`"};
}

void append_floats(std::string& out, const std::vector<float>& values) {
  const std::size_t at = out.size();
  out.resize(at + values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(out.data() + at, values.data(), values.size() * sizeof(float));
}

}  // namespace

int EmbeddingAdaptation::label_index(const std::string& category) const {
  const auto it = std::find(labels.begin(), labels.end(), category);
  return it == labels.end() ? -1 : static_cast<int>(it - labels.begin());
}

int EmbeddingAdaptation::category_rows() const {
  int rows = out_dim;
  for (const Attribute& a : attributes) rows -= static_cast<int>(a.values.size());
  return rows;
}

const std::vector<int>* EmbeddingAdaptation::attributes_of(const std::string& product_id) const {
  const auto it = product_attributes.find(product_id);
  return it == product_attributes.end() ? nullptr : &it->second;
}

void EmbeddingAdaptation::add_attribute(Attribute attribute, const std::vector<float>& rows,
                                        const std::vector<float>& biases) {
  const auto old_out = static_cast<std::size_t>(out_dim);
  const std::size_t added = attribute.values.size();
  weight.insert(weight.end(), rows.begin(), rows.end());
  bias.insert(bias.end(), biases.begin(), biases.end());
  std::vector<float> widened(labels.size() * (old_out + added), 0.F);
  for (std::size_t l = 0; l < labels.size() && prototypes.size() == labels.size() * old_out; ++l)
    std::copy_n(prototypes.data() + l * old_out, old_out, widened.data() + l * (old_out + added));
  prototypes = std::move(widened);
  out_dim = static_cast<int>(old_out + added);
  output = "softmax";
  attributes.push_back(std::move(attribute));
}

std::vector<float> EmbeddingAdaptation::project(std::span<const float> x, int label,
                                                const std::vector<int>* attribute_values) const {
  const auto in = static_cast<std::size_t>(in_dim);
  const auto out = static_cast<std::size_t>(out_dim);
  const auto category = static_cast<std::size_t>(category_rows());
  const auto head_count = static_cast<std::size_t>(std::max(1, heads));
  const std::size_t block = category / head_count;
  std::vector<float> v(static_cast<std::size_t>(search_dim()), 0.F);
  // Scales v[from, from + n) to length `length` (left at zero when it is zero).
  const auto scale_to = [&v](std::size_t from, std::size_t n, double length) {
    double norm = 0;
    for (std::size_t r = from; r < from + n; ++r)
      norm += static_cast<double>(v[r]) * static_cast<double>(v[r]);
    const double scale = norm > 0 ? length / std::sqrt(norm) : 0.0;
    for (std::size_t r = from; r < from + n; ++r)
      v[r] = static_cast<float>(static_cast<double>(v[r]) * scale);
  };
  // exp(v - max) over v[from, from + n): the softmax up to its sum, which the scaling removes.
  const auto softmax = [&v](std::size_t from, std::size_t n) {
    const auto first = v.begin() + static_cast<std::ptrdiff_t>(from);
    const auto last = first + static_cast<std::ptrdiff_t>(n);
    const float top = *std::max_element(first, last);
    for (auto it = first; it != last; ++it) *it = std::exp(*it - top);
  };
  for (std::size_t r = 0; r < out; ++r) v[r] = bias[r] + dot(weight.data() + r * in, x.data(), in);
  if (output == "softmax")
    for (std::size_t h = 0; h < head_count; ++h) softmax(h * block, block);
  const double head_length = 1.0 / std::sqrt(static_cast<double>(head_count));
  for (std::size_t h = 0; h < head_count; ++h) scale_to(h * block, block, head_length);
  if (label >= 0 && static_cast<std::size_t>(label) < labels.size() && anchor < 1.0 &&
      prototypes.size() == labels.size() * out) {
    const float* prototype = prototypes.data() + static_cast<std::size_t>(label) * out;
    for (std::size_t r = 0; r < category; ++r)
      v[r] = static_cast<float>(anchor * static_cast<double>(v[r]) +
                                (1.0 - anchor) * static_cast<double>(prototype[r]));
  }
  double attribute_share = 0;
  for (const Attribute& a : attributes) attribute_share += a.weight;
  scale_to(0, category, std::sqrt(std::max(0.0, 1.0 - attribute_share)));
  std::size_t at = category;
  for (std::size_t i = 0; i < attributes.size(); ++i) {
    const std::size_t n = attributes[i].values.size();
    const int declared =
        attribute_values != nullptr && i < attribute_values->size() ? (*attribute_values)[i] : -1;
    if (declared >= 0 && static_cast<std::size_t>(declared) < n) {
      std::fill_n(v.begin() + static_cast<std::ptrdiff_t>(at), n, 0.F);
      v[at + static_cast<std::size_t>(declared)] = 1.F;
    } else {
      softmax(at, n);
    }
    scale_to(at, n, std::sqrt(attributes[i].weight));
    at += n;
  }
  scale_to(0, out, std::sqrt(std::min(mix, 1.0)));
  if (mix < 1.0) {
    const auto base_scale = static_cast<float>(std::sqrt(1.0 - mix));
    for (std::size_t i = 0; i < in; ++i) v[out + i] = base_scale * x[i];
  }
  return v;
}

EmbeddingAdaptation EmbeddingAdaptation::stack(const std::vector<EmbeddingAdaptation>& parts) {
  EmbeddingAdaptation a = parts.front();
  const auto part_count = parts.size();
  if (part_count == 1) return a;
  const auto in = static_cast<std::size_t>(a.in_dim);
  const auto out = static_cast<std::size_t>(a.out_dim);
  a.out_dim = static_cast<int>(out * part_count);
  a.heads = a.heads * static_cast<int>(part_count);
  a.weight.clear();
  a.bias.clear();
  a.prototypes.assign(a.labels.size() * out * part_count, 0.F);
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(part_count)));
  for (std::size_t p = 0; p < part_count; ++p) {
    const EmbeddingAdaptation& part = parts[p];
    a.weight.insert(a.weight.end(), part.weight.begin(),
                    part.weight.begin() + static_cast<std::ptrdiff_t>(out * in));
    a.bias.insert(a.bias.end(), part.bias.begin(), part.bias.begin() + static_cast<std::ptrdiff_t>(out));
    for (std::size_t l = 0; l < a.labels.size() && part.prototypes.size() == a.labels.size() * out; ++l)
      for (std::size_t r = 0; r < out; ++r)
        a.prototypes[l * out * part_count + p * out + r] = scale * part.prototypes[l * out + r];
  }
  return a;
}

std::string EmbeddingAdaptation::serialize() const {
  nlohmann::json header = {{"generation", generation},
                           {"embedder", embedder},
                           {"in_dim", in_dim},
                           {"out_dim", out_dim},
                           {"heads", heads},
                           {"output", output},
                           {"mix", mix},
                           {"anchor", anchor},
                           {"labels", labels},
                           {"visual_min_score", visual_min_score},
                           {"report", report}};
  if (!attributes.empty()) {
    nlohmann::json parts = nlohmann::json::array();
    for (const Attribute& a : attributes)
      parts.push_back({{"key", a.key}, {"values", a.values}, {"weight", a.weight}});
    header["attributes"] = std::move(parts);
    header["product_attributes"] = product_attributes;
  }
  const std::string text = header.dump();
  std::string out(kMagic);
  const auto length = static_cast<std::uint32_t>(text.size());
  out.append(reinterpret_cast<const char*>(&length), sizeof length);  // NOLINT(*-reinterpret-cast)
  out += text;
  append_floats(out, weight);
  append_floats(out, bias);
  append_floats(out, prototypes);
  return out;
}

Result<EmbeddingAdaptation> EmbeddingAdaptation::parse(std::string_view bytes, const std::string& origin) {
  if (bytes.substr(0, kOlderMagic.size()) == kOlderMagic)
    return malformed(origin, "an older format, " + std::string(kOlderMagic));
  if (bytes.size() < kMagic.size() + sizeof(std::uint32_t) || bytes.substr(0, kMagic.size()) != kMagic)
    return malformed(origin, "bad magic");
  std::uint32_t length = 0;
  std::memcpy(&length, bytes.data() + kMagic.size(), sizeof length);
  const std::size_t header_at = kMagic.size() + sizeof length;
  if (length > kMaxHeaderBytes || length > bytes.size() - header_at)
    return malformed(origin, "bad header length");
  EmbeddingAdaptation a;
  try {
    const auto header = nlohmann::json::parse(bytes.substr(header_at, length));
    a.generation = header.at("generation").get<std::int64_t>();
    a.embedder = header.at("embedder").get<std::string>();
    a.in_dim = header.at("in_dim").get<int>();
    a.out_dim = header.at("out_dim").get<int>();
    a.heads = header.at("heads").get<int>();
    if (header.contains("output")) a.output = header.at("output").get<std::string>();
    a.mix = header.at("mix").get<double>();
    a.anchor = header.at("anchor").get<double>();
    a.labels = header.at("labels").get<std::vector<std::string>>();
    if (header.contains("visual_min_score")) a.visual_min_score = header.at("visual_min_score").get<double>();
    if (header.contains("report")) a.report = header.at("report");
    if (header.contains("attributes")) {
      for (const auto& part : header.at("attributes"))
        a.attributes.push_back(Attribute{part.at("key").get<std::string>(),
                                         part.at("values").get<std::vector<std::string>>(),
                                         part.at("weight").get<double>()});
      a.product_attributes = header.at("product_attributes").get<std::map<std::string, std::vector<int>>>();
    }
  } catch (const nlohmann::json::exception& e) {
    return malformed(origin, std::string("header: ") + e.what());
  }
  if (a.in_dim < 1 || a.in_dim > kMaxDim || a.out_dim < 1 || a.out_dim > kMaxDim)
    return malformed(origin, "dimensions out of range");
  if (a.heads < 1 || a.out_dim % a.heads != 0) return malformed(origin, "heads do not divide out_dim");
  if (a.output != "cosine" && a.output != "softmax") return malformed(origin, "unknown output " + a.output);
  if (!a.attributes.empty()) {
    double share = 0;
    std::size_t rows = 0;
    for (const Attribute& part : a.attributes) {
      if (part.values.size() < 2 || !(part.weight > 0.0 && part.weight < 1.0))
        return malformed(origin,
                         "attribute " + part.key + ": fewer than 2 values or a weight outside (0, 1)");
      share += part.weight;
      rows += part.values.size();
    }
    if (a.output != "softmax" || a.heads != 1) return malformed(origin, "attributes without a classifier");
    if (!(share < 1.0) || rows >= static_cast<std::size_t>(a.out_dim))
      return malformed(origin, "attributes take the whole adapted space");
    for (const auto& [id, values] : a.product_attributes) {
      if (values.size() != a.attributes.size())
        return malformed(origin, "product " + id + ": attribute count");
      for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i] < -1 || values[i] >= static_cast<int>(a.attributes[i].values.size()))
          return malformed(origin, "product " + id + ": attribute value out of range");
    }
  }
  if (!(a.mix > 0.0 && a.mix <= 1.0)) return malformed(origin, "mix outside (0, 1]");
  if (!(a.anchor >= 0.0 && a.anchor <= 1.0)) return malformed(origin, "anchor outside [0, 1]");
  if (!(a.visual_min_score <= 1.0)) return malformed(origin, "visual_min_score above 1");
  if (a.labels.size() > static_cast<std::size_t>(kMaxDim)) return malformed(origin, "too many labels");
  const auto out = static_cast<std::size_t>(a.out_dim);
  a.weight.resize(out * static_cast<std::size_t>(a.in_dim));
  a.bias.resize(out);
  a.prototypes.resize(a.labels.size() * out);
  const std::size_t body = bytes.size() - header_at - length;
  if (body != (a.weight.size() + a.bias.size() + a.prototypes.size()) * sizeof(float))
    return malformed(origin, "weights have the wrong size");
  const char* p = bytes.data() + header_at + length;
  for (std::vector<float>* part : {&a.weight, &a.bias, &a.prototypes}) {
    if (!part->empty()) std::memcpy(part->data(), p, part->size() * sizeof(float));
    p += part->size() * sizeof(float);
    for (float w : *part)
      if (!std::isfinite(w)) return malformed(origin, "non-finite weight");
  }
  return a;
}

Result<EmbeddingAdaptation> EmbeddingAdaptation::load(const std::string& path) {
  auto bytes = read_file_bytes(path, kMaxFileBytes);
  if (!bytes) {
    if (bytes.error().code == ErrorCode::kNotFound) return bytes.error();
    return Error{ErrorCode::kIo, path + ": " + bytes.error().message};
  }
  return parse(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()),  // NOLINT
               path);
}

Status EmbeddingAdaptation::save(const std::string& path) const {
  return dataset::write_file_atomic(path, serialize());
}

}  // namespace visearch::search
