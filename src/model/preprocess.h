// Pre-processing driven entirely by PreprocessSpec: resize (stretch or
// letterbox), pad, channel order, (x - mean) / std, HWC uint8 -> NCHW float.
// Returns the tensor and the InputTransform that maps boxes back.
//
// Thread-safety: pure function. Cost: one resize + one pass over the input tensor.
#pragma once

#include <vector>

#include "core/image.h"
#include "core/input_transform.h"
#include "model/model_spec.h"

namespace visearch {

struct PreparedInput {
  std::vector<float> tensor;  // 1 x 3 x H x W
  InputTransform transform;
};

PreparedInput preprocess_image(const Image& image, const PreprocessSpec& spec);

// The normalisation step alone: an RGB image of the input size -> 3 planes of floats at `out`
// (channel order, (x - mean) / std). Training feeds augmented images through this same step.
void normalize_into(const Image& resized, const PreprocessSpec& spec, float* out);

// Resized (and padded) RGB image exactly as it enters the normalisation step;
// exposed for tests and for embedding crops.
Image resize_for_input(const Image& image, const PreprocessSpec& spec, InputTransform* transform_out);

}  // namespace visearch
