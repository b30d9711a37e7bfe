#include "model/embedder.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>

#include "model/preprocess.h"

namespace visearch {
namespace {

using Clock = std::chrono::steady_clock;

Unexpected spec_error(const ModelSpec& spec, const std::string& what) {
  return Unexpected{ErrorCode::kInvalidSpec,
                    (spec.source_path.empty() ? spec.name : spec.source_path) + ": " + what};
}

}  // namespace

void l2_normalize(std::vector<float>& v) {
  double sum = 0.0;
  for (float x : v) sum += static_cast<double>(x) * static_cast<double>(x);
  if (sum <= 0.0) return;
  const auto inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inv;
}

Result<Image> crop_image(const Image& image, const ImageBox& box) {
  if (image.empty()) return Unexpected{ErrorCode::kInvalidArgument, "empty image"};
  const ImageBox clipped = box.clipped(static_cast<float>(image.width), static_cast<float>(image.height));
  const int x1 = static_cast<int>(std::floor(clipped.x1));
  const int y1 = static_cast<int>(std::floor(clipped.y1));
  const int x2 = std::min(image.width, static_cast<int>(std::ceil(clipped.x2)));
  const int y2 = std::min(image.height, static_cast<int>(std::ceil(clipped.y2)));
  if (x2 - x1 < 2 || y2 - y1 < 2) {
    return Unexpected{ErrorCode::kInvalidArgument, "region is under 2 pixels on a side inside the " +
                                                       std::to_string(image.width) + "x" +
                                                       std::to_string(image.height) + " image"};
  }
  Image out = Image::allocate(x2 - x1, y2 - y1);
  for (int y = y1; y < y2; ++y) {
    std::memcpy(out.row(y - y1), image.row(y) + static_cast<std::size_t>(x1) * Image::kChannels,
                out.row_bytes());
  }
  return out;
}

Result<std::unique_ptr<Embedder>> Embedder::load(const ModelSpec& spec, const ModelRepository& repository,
                                                 const RuntimeOptions& runtime) {
  const auto start = Clock::now();
  if (spec.task != "embed") {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "model '" + spec.name + "' is not an embedding model (task " + spec.task + ")"};
  }
  const nlohmann::json& decoder = spec.decoder;
  if (!decoder.contains("output") || !decoder["output"].is_string()) {
    return spec_error(spec, "an embed spec needs decoder.output (the graph output holding the embedding)");
  }
  if (!decoder.contains("dimension") || !decoder["dimension"].is_number_integer()) {
    return spec_error(spec, "an embed spec needs decoder.dimension (an integer)");
  }
  const std::string output = decoder["output"].get<std::string>();
  const int dimension = decoder["dimension"].get<int>();
  if (dimension < 1 || dimension > 65536) return spec_error(spec, "decoder.dimension must be in 1..65536");
  const std::string normalize = decoder.value("normalize", std::string("l2"));
  if (normalize != "l2" && normalize != "none")
    return spec_error(spec, "decoder.normalize must be l2 or none");

  auto weights = repository.resolve(spec.weights);
  if (!weights) return weights.error();
  auto session = open_onnx_session(weights->path, runtime);
  if (!session) return session.error();
  if ((*session)->inputs().size() != 1) {
    return spec_error(spec,
                      "the graph has " + std::to_string((*session)->inputs().size()) + " inputs; expected 1");
  }
  const auto& outputs = (*session)->outputs();
  const bool found =
      std::any_of(outputs.begin(), outputs.end(), [&](const TensorInfo& t) { return t.name == output; });
  if (!found) return spec_error(spec, "the graph " + weights->path + " has no output named '" + output + "'");
  std::unique_ptr<Embedder> embedder(
      new Embedder(spec, std::move(*session), output, dimension, normalize == "l2"));
  embedder->load_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return embedder;
}

Result<std::vector<float>> Embedder::embed(const Image& image) const {
  if (image.empty()) return Unexpected{ErrorCode::kInvalidArgument, "empty image"};
  const PreparedInput input = preprocess_image(image, spec_.preprocess);
  // The tensor as the spec declares it (layout, type, a size that may follow the image).
  auto outputs = spec_.preprocess.type == TensorType::kUint8 ? session_->run_uint8(input.bytes, input.shape)
                                                             : session_->run(input.tensor, input.shape);
  if (!outputs) return outputs.error();
  for (Tensor& tensor : *outputs) {
    if (tensor.name != output_) continue;
    if (tensor.data.size() != static_cast<std::size_t>(dimension_)) {
      return Unexpected{ErrorCode::kInference, "output '" + output_ + "' has " +
                                                   std::to_string(tensor.data.size()) +
                                                   " values; the spec says " + std::to_string(dimension_)};
    }
    std::vector<float> v = std::move(tensor.data);
    for (float x : v) {
      if (!std::isfinite(x)) return Unexpected{ErrorCode::kInference, "the embedding has a non-finite value"};
    }
    if (normalize_) l2_normalize(v);
    return v;
  }
  return Unexpected{ErrorCode::kInference, "the runtime returned no output '" + output_ + "'"};
}

Result<std::vector<float>> Embedder::embed_region(const Image& image, const ImageBox& box) const {
  auto crop = crop_image(image, box);
  if (!crop) return crop.error();
  return embed(*crop);
}

}  // namespace visearch
