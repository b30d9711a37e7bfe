// Pre-processing driven entirely by PreprocessSpec: resize (stretch, letterbox
// or keep_aspect), pad, channel order, then the tensor the spec declares:
// (x - mean) / std as NCHW / NHWC / CHW float, or the pixels as uint8.
// Returns the tensor, its shape and the InputTransform that maps boxes back.
//
// Thread-safety: pure function. Cost: one resize + one pass over the input tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"
#include "core/input_transform.h"
#include "model/model_spec.h"

namespace visearch {

struct PreparedInput {
  std::vector<float> tensor;        // float32 inputs, in the spec's layout (1 x 3 x H x W by default)
  std::vector<std::uint8_t> bytes;  // uint8 inputs instead
  std::vector<std::int64_t> shape;  // as fed to the graph: [1,3,H,W], [1,H,W,3] or [3,H,W]
  InputTransform transform;
};

PreparedInput preprocess_image(const Image& image, const PreprocessSpec& spec);

// Where the image lands in the input tensor for this spec (its size follows the image for keep_aspect).
InputTransform input_transform_for(Size image, const PreprocessSpec& spec);

// The normalisation step alone: an RGB image of the input size -> 3 planes of floats at `out`
// (channel order, (x - mean) / std). Training feeds augmented images through this same step.
void normalize_into(const Image& resized, const PreprocessSpec& spec, float* out);

// Resized (and padded) RGB image exactly as it enters the normalisation step;
// exposed for tests and for embedding crops.
Image resize_for_input(const Image& image, const PreprocessSpec& spec, InputTransform* transform_out);

}  // namespace visearch
