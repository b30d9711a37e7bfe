#include "model/detector.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "model/preprocess.h"

namespace visearch {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Bounds the quadratic NMS when thresholds are very low (evaluation uses 0.001).
constexpr std::size_t kMaxCandidatesBeforeNms = 5000;

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

// The graph's declared input against the spec's layout: rank, 3 channels, and the size when the spec
// fixes it (a keep_aspect spec feeds a size that follows the image, so the graph's must be dynamic).
Status check_input_shape(const ModelSpec& spec, const std::vector<std::int64_t>& shape) {
  const PreprocessSpec& pre = spec.preprocess;
  const std::size_t rank = pre.layout == TensorLayout::kChw ? 3 : 4;
  if (shape.empty()) return ok_status();  // rank unknown to the runtime: nothing to check
  const auto mismatch = [&](const std::string& why) {
    return Unexpected{ErrorCode::kInvalidSpec, spec.source_path + ": " + why +
                                                   " does not match the graph's input " + shape_text(shape)};
  };
  if (shape.size() != rank) {
    return mismatch("input.layout " + std::string(tensor_layout_name(pre.layout)));
  }
  const std::size_t off = rank == 4 ? 1 : 0;
  const bool nhwc = pre.layout == TensorLayout::kNhwc;
  const std::int64_t channels = shape[nhwc ? 3 : off];
  const std::int64_t height = shape[nhwc ? 1 : off + 1];
  const std::int64_t width = shape[nhwc ? 2 : off + 2];
  const auto fits = [](std::int64_t dim, int want) { return dim <= 0 || dim == want; };
  if (!fits(channels, 3))
    return mismatch("3 colour channels in layout " + std::string(tensor_layout_name(pre.layout)));
  if (pre.resize == ResizeMode::kKeepAspect) {
    if (height > 0 || width > 0) return mismatch("resize keep_aspect (a size that follows the image)");
  } else if (!fits(height, pre.size.height) || !fits(width, pre.size.width)) {
    return mismatch("input size " + std::to_string(pre.size.width) + "x" + std::to_string(pre.size.height));
  }
  return ok_status();
}

// How many passes one forward pass takes (and whether exactly that many), from the graph's declared input
// shape and the spec's input.max_batch; never from the outputs. A layout without a batch axis (chw), a
// rank the runtime does not know or a batch fixed at 1: one. A dynamic batch: max_batch, or kMaxBatch.
struct BatchCapacity {
  std::size_t size = 1;
  bool fixed = false;
};

Result<BatchCapacity> batch_capacity(const ModelSpec& spec, const std::vector<std::int64_t>& shape) {
  const int wanted = spec.preprocess.max_batch;
  if (spec.preprocess.layout == TensorLayout::kChw || shape.size() != 4) {
    if (wanted > 1) {
      return Unexpected{ErrorCode::kInvalidSpec,
                        spec.source_path + ": input.max_batch " + std::to_string(wanted) +
                            " needs a batch axis; the graph's input is " + shape_text(shape)};
    }
    return BatchCapacity{};
  }
  const std::int64_t declared = shape[0];
  if (declared > 0) {
    if (wanted > 0 && wanted != declared) {
      return Unexpected{ErrorCode::kInvalidSpec,
                        spec.source_path + ": input.max_batch " + std::to_string(wanted) +
                            " does not match the graph's fixed batch in " + shape_text(shape)};
    }
    return BatchCapacity{static_cast<std::size_t>(declared), declared > 1};
  }
  return BatchCapacity{wanted > 0 ? static_cast<std::size_t>(wanted) : kMaxBatch, false};
}

bool same_item_shape(const PreparedInput& a, const PreparedInput& b) {
  return a.shape.size() == b.shape.size() &&
         std::equal(a.shape.begin() + 1, a.shape.end(), b.shape.begin() + 1);
}

}  // namespace

struct Detector::Pass {
  TileRect rect;
  PreparedInput input;
  std::vector<Detection> detections;
};

Detector::Detector(ModelSpec spec, std::unique_ptr<InferenceSession> session,
                   std::unique_ptr<Decoder> decoder)
    : spec_(std::move(spec)), session_(std::move(session)), decoder_(std::move(decoder)) {}

Result<std::unique_ptr<Detector>> Detector::load(const ModelSpec& spec, const ModelRepository& repository,
                                                 const FamilyRegistry& families,
                                                 const RuntimeOptions& runtime) {
  const auto start = Clock::now();
  if (spec.task != "detect") {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "model '" + spec.name + "' is not a detector (task " + spec.task + ")"};
  }
  auto weights = repository.resolve(spec.weights);
  if (!weights) return weights.error();
  auto decoder = families.create(DecoderContext{spec, repository});
  if (!decoder) return decoder.error();
  auto session = open_onnx_session(weights->path, runtime);
  if (!session) return session.error();
  if ((*session)->inputs().size() != 1) {
    return Unexpected{ErrorCode::kInvalidSpec, "model " + weights->path + " has " +
                                                   std::to_string((*session)->inputs().size()) +
                                                   " inputs; expected 1"};
  }
  VISEARCH_TRY(check_input_shape(spec, (*session)->inputs()[0].shape));
  auto capacity = batch_capacity(spec, (*session)->inputs()[0].shape);
  if (!capacity) return capacity.error();
  std::unique_ptr<Detector> detector(new Detector(spec, std::move(*session), std::move(*decoder)));
  detector->max_batch_ = capacity->size;
  detector->fixed_batch_ = capacity->fixed;
  detector->weights_path_ = weights->path;
  detector->load_ms_ = ms_since(start);
  return detector;
}

Status Detector::validate(const DetectOptions& options) const {
  const auto in_unit = [](std::optional<float> v) { return !v || (*v >= 0.F && *v <= 1.F); };
  if (!in_unit(options.score_threshold))
    return Unexpected{ErrorCode::kInvalidArgument, "score_threshold must be in [0, 1]"};
  if (!in_unit(options.iou_threshold))
    return Unexpected{ErrorCode::kInvalidArgument, "iou_threshold must be in [0, 1]"};
  if (options.max_detections && (*options.max_detections < 1 || *options.max_detections > 10000)) {
    return Unexpected{ErrorCode::kInvalidArgument, "max_detections must be in 1..10000"};
  }
  for (int id : options.classes) {
    if (id < 0 || id >= static_cast<int>(spec_.labels.size())) {
      return Unexpected{ErrorCode::kInvalidArgument, "class id " + std::to_string(id) + " out of range"};
    }
  }
  return validate_tile(options.tile);
}

Result<std::vector<Tensor>> Detector::forward(const std::vector<float>& tensor) const {
  const std::array<std::int64_t, 4> shape{1, 3, spec_.preprocess.size.height, spec_.preprocess.size.width};
  return session_->run(tensor, shape);
}

Result<std::vector<Tensor>> Detector::forward(const PreparedInput& input) const {
  if (spec_.preprocess.type == TensorType::kUint8) return session_->run_uint8(input.bytes, input.shape);
  return session_->run(input.tensor, input.shape);
}

TilePlan Detector::plan(Size image, const TileOptions& tile) const {
  Size input = spec_.preprocess.size;
  if (spec_.preprocess.resize == ResizeMode::kKeepAspect && spec_.preprocess.max_side > 0) {
    input = Size{spec_.preprocess.max_side, spec_.preprocess.max_side};
  }
  return plan_tiles(image, input, tile);
}

Result<DetectOutput> Detector::detect(const Image& image, const DetectOptions& options) const {
  VISEARCH_TRY(validate(options));
  if (image.empty()) return Unexpected{ErrorCode::kInvalidArgument, "empty image"};
  const Size size{image.width, image.height};
  const TilePlan tiles = plan(size, options.tile);
  if (tiles.refused > 0) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "tile " + tile_text(options.tile) + " with overlap " +
                          std::to_string(options.tile.overlap) + " needs " + std::to_string(tiles.refused) +
                          " tiles on a " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                          " image, more than " + std::to_string(kMaxTiles) +
                          "; use larger tiles, less overlap or tile auto"};
  }
  // The whole image, then each tile. Passes of one tensor shape (every pass, unless a keep_aspect resize
  // gives the whole image another size than the tiles) share a forward pass up to the batch the graph
  // takes; otherwise each runs alone, in order.
  std::vector<TileRect> rects{TileRect{0, 0, size.width, size.height}};
  rects.insert(rects.end(), tiles.tiles.begin(), tiles.tiles.end());
  DetectOutput out;
  out.passes = rects.size();
  out.forwards = 0;
  std::vector<PassDetections> passes;
  passes.reserve(rects.size());
  std::vector<Pass> batch;
  std::size_t capacity = 1;
  const auto flush = [&]() -> Status {
    VISEARCH_TRY(run_passes(batch, options, out.timing));
    ++out.forwards;
    for (Pass& pass : batch) passes.push_back(PassDetections{pass.rect, std::move(pass.detections)});
    batch.clear();
    return ok_status();
  };
  for (const TileRect& rect : rects) {
    const auto start = Clock::now();
    Pass pass{rect, {}, {}};
    if (rect.x == 0 && rect.y == 0 && rect.size() == size) {
      pass.input = prepare(image, 0, 0, size);
    } else {
      Image crop = Image::allocate(rect.width, rect.height);
      for (int y = 0; y < rect.height; ++y) {
        std::copy_n(image.row(rect.y + y) + static_cast<std::size_t>(rect.x) * Image::kChannels,
                    crop.row_bytes(), crop.row(y));
      }
      pass.input = prepare(crop, rect.x, rect.y, size);
    }
    out.timing.preprocess_ms += ms_since(start);
    if (!batch.empty() && (batch.size() >= capacity || !same_item_shape(batch.front().input, pass.input))) {
      VISEARCH_TRY(flush());
    }
    if (batch.empty()) {
      // A dynamic batch is also bounded by its input's bytes; a fixed one takes what it declares.
      const std::size_t bytes = pass.input.tensor.size() * sizeof(float) + pass.input.bytes.size();
      capacity = fixed_batch_ ? max_batch_
                              : std::clamp<std::size_t>(kMaxBatchBytes / std::max<std::size_t>(bytes, 1), 1,
                                                        max_batch_);
    }
    batch.push_back(std::move(pass));
  }
  VISEARCH_TRY(flush());
  if (!tiles.tiled()) {
    out.detections = std::move(passes.front().detections);
    return out;
  }
  const auto start = Clock::now();
  TileMergeOptions merge;
  merge.iou_threshold = options.iou_threshold.value_or(spec_.defaults.iou_threshold);
  merge.class_agnostic = options.agnostic_nms;
  merge.max_detections =
      static_cast<std::size_t>(options.max_detections.value_or(spec_.defaults.max_detections));
  merge.merge = options.tile.merge;
  out.detections = merge_tiled(passes, size, merge);
  out.timing.postprocess_ms += ms_since(start);
  return out;
}

PreparedInput Detector::prepare(const Image& pixels, int crop_x, int crop_y, Size frame) const {
  PreparedInput prepared = preprocess_image(pixels, spec_.preprocess);
  prepared.transform = prepared.transform.within(crop_x, crop_y, frame);
  return prepared;
}

Status Detector::run_passes(std::vector<Pass>& batch, const DetectOptions& options,
                            StageTiming& timing) const {
  if (batch.size() == 1 && !fixed_batch_) {
    auto start = Clock::now();
    auto outputs = forward(batch.front().input);
    if (!outputs) return outputs.error();
    timing.inference_ms += ms_since(start);
    start = Clock::now();
    auto detections = postprocess(*outputs, batch.front().input.transform, options);
    if (!detections) return detections.error();
    batch.front().detections = std::move(*detections);
    timing.postprocess_ms += ms_since(start);
    return ok_status();
  }
  // One tensor [n, ...] of the passes' tensors in order; a fixed batch is padded with zeros (blank images
  // whose outputs are never read).
  auto start = Clock::now();
  const std::size_t n = fixed_batch_ ? max_batch_ : batch.size();
  const PreparedInput& first = batch.front().input;
  PreparedInput joined;
  joined.shape = first.shape;
  joined.shape[0] = static_cast<std::int64_t>(n);
  const bool bytes = spec_.preprocess.type == TensorType::kUint8;
  for (const Pass& pass : batch) {
    if (bytes) {
      joined.bytes.insert(joined.bytes.end(), pass.input.bytes.begin(), pass.input.bytes.end());
    } else {
      joined.tensor.insert(joined.tensor.end(), pass.input.tensor.begin(), pass.input.tensor.end());
    }
  }
  if (bytes) {
    joined.bytes.resize(first.bytes.size() * n, 0);
  } else {
    joined.tensor.resize(first.tensor.size() * n, 0.F);
  }
  timing.preprocess_ms += ms_since(start);
  start = Clock::now();
  auto outputs = forward(joined);
  if (!outputs) {
    // A graph may declare a dynamic batch yet keep a batch of 1 inside (a Reshape to [1, ...]).
    Error error = outputs.error();
    error.message += " (a batch of " + std::to_string(n) + " images, as the graph's input " +
                     shape_text(session_->inputs()[0].shape) +
                     " allows; a graph that cannot run it takes \"max_batch\": 1 in its spec's input)";
    return error;
  }
  timing.inference_ms += ms_since(start);
  start = Clock::now();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto item = batch_item(*outputs, i, n);
    if (!item) return item.error();
    auto detections = postprocess(*item, batch[i].input.transform, options);
    if (!detections) return detections.error();
    batch[i].detections = std::move(*detections);
  }
  timing.postprocess_ms += ms_since(start);
  return ok_status();
}

Result<std::vector<Detection>> Detector::postprocess(const std::vector<Tensor>& outputs,
                                                     const InputTransform& transform,
                                                     const DetectOptions& options) const {
  const float score_threshold = options.score_threshold.value_or(spec_.defaults.score_threshold);
  auto candidates = decoder_->decode(outputs, DecodeParams{score_threshold, transform.input_size()});
  if (!candidates) return candidates.error();
  if (!options.classes.empty()) {
    std::erase_if(*candidates, [&](const Candidate& c) {
      return std::find(options.classes.begin(), options.classes.end(), c.class_id) == options.classes.end();
    });
  }
  if (candidates->size() > kMaxCandidatesBeforeNms) {
    std::partial_sort(candidates->begin(), candidates->begin() + kMaxCandidatesBeforeNms, candidates->end(),
                      [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    candidates->resize(kMaxCandidatesBeforeNms);
  }
  const auto max_detections =
      static_cast<std::size_t>(options.max_detections.value_or(spec_.defaults.max_detections));
  std::vector<Candidate> kept;
  if (decoder_->needs_nms()) {
    NmsOptions nms;
    nms.iou_threshold = options.iou_threshold.value_or(spec_.defaults.iou_threshold);
    nms.class_agnostic = options.agnostic_nms;
    nms.max_detections = max_detections;
    kept = non_max_suppression(std::move(*candidates), nms);
  } else {
    // Final boxes (end-to-end exports): the best max_detections by score, as they are.
    kept = std::move(*candidates);
    std::stable_sort(kept.begin(), kept.end(),
                     [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    if (kept.size() > max_detections) kept.resize(max_detections);
  }
  std::vector<Detection> detections;
  detections.reserve(kept.size());
  for (const Candidate& c : kept) {
    const ImageBox box = transform.to_image(c.box);
    if (!box.valid()) continue;  // entirely outside the image once clipped
    detections.push_back(Detection{box, c.class_id, c.score});
  }
  return detections;
}

Result<std::vector<int>> parse_class_list(const ModelSpec& spec, std::string_view text) {
  std::vector<int> ids;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      int id = spec.class_id_of(item);
      if (id < 0) {
        int number = -1;
        auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), number);
        if (ec == std::errc() && end == item.data() + item.size() && number >= 0 &&
            number < static_cast<int>(spec.labels.size())) {
          id = number;
        }
      }
      if (id < 0) {
        return Unexpected{ErrorCode::kInvalidArgument,
                          "unknown class '" + std::string(item) + "' for model " + spec.name};
      }
      ids.push_back(id);
    }
    pos = comma + 1;
  }
  return ids;
}

}  // namespace visearch
