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

constexpr std::string_view kMagic = "VSADAPT1";
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

std::vector<float> EmbeddingAdaptation::project(std::span<const float> x, int label) const {
  const auto in = static_cast<std::size_t>(in_dim);
  const auto out = static_cast<std::size_t>(out_dim);
  std::vector<float> v(static_cast<std::size_t>(search_dim()), 0.F);
  const auto unit_scale = [&] {
    double norm = 0;
    for (std::size_t r = 0; r < out; ++r) norm += static_cast<double>(v[r]) * static_cast<double>(v[r]);
    return norm > 0 ? 1.0 / std::sqrt(norm) : 0.0;
  };
  for (std::size_t r = 0; r < out; ++r) v[r] = bias[r] + dot(weight.data() + r * in, x.data(), in);
  if (label >= 0 && static_cast<std::size_t>(label) < labels.size() && anchor < 1.0 &&
      prototypes.size() == labels.size() * out) {
    const double scale = unit_scale();
    const float* prototype = prototypes.data() + static_cast<std::size_t>(label) * out;
    for (std::size_t r = 0; r < out; ++r)
      v[r] = static_cast<float>(anchor * static_cast<double>(v[r]) * scale +
                                (1.0 - anchor) * static_cast<double>(prototype[r]));
  }
  const double adapted_scale = unit_scale() * std::sqrt(std::min(mix, 1.0));
  for (std::size_t r = 0; r < out; ++r) v[r] = static_cast<float>(static_cast<double>(v[r]) * adapted_scale);
  if (mix < 1.0) {
    const auto base_scale = static_cast<float>(std::sqrt(1.0 - mix));
    for (std::size_t i = 0; i < in; ++i) v[out + i] = base_scale * x[i];
  }
  return v;
}

std::string EmbeddingAdaptation::serialize() const {
  const nlohmann::json header = {{"generation", generation},
                                 {"embedder", embedder},
                                 {"in_dim", in_dim},
                                 {"out_dim", out_dim},
                                 {"mix", mix},
                                 {"anchor", anchor},
                                 {"labels", labels},
                                 {"visual_min_score", visual_min_score},
                                 {"report", report}};
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
    a.mix = header.at("mix").get<double>();
    a.anchor = header.at("anchor").get<double>();
    a.labels = header.at("labels").get<std::vector<std::string>>();
    if (header.contains("visual_min_score")) a.visual_min_score = header.at("visual_min_score").get<double>();
    if (header.contains("report")) a.report = header.at("report");
  } catch (const nlohmann::json::exception& e) {
    return malformed(origin, std::string("header: ") + e.what());
  }
  if (a.in_dim < 1 || a.in_dim > kMaxDim || a.out_dim < 1 || a.out_dim > kMaxDim)
    return malformed(origin, "dimensions out of range");
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
