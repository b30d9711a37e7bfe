// Training images in memory and the augmentation that turns one into a network input.
//
// Images are decoded once (EXIF orientation applied, as everywhere else) and kept at most `cache_side`
// pixels on their long side, with their boxes scaled along. A sample is made in three steps:
//   1. geometry: the spec's own resize (letterbox or stretch, InputTransform::make) multiplied by a random
//      scale, a random placement and an optional horizontal flip, in one warp with the spec's pad value;
//   2. colour: random hue / saturation / value gains;
//   3. normalisation: model/preprocess.h normalize_into(), the step serving uses, so a sample without
//      augmentation is exactly the tensor `detect` feeds the model.
// Boxes follow the geometry, are clipped to the canvas and dropped when less than 20 % of them (or under
// 2 px) stays visible.
//
// Thread-safety: TrainImages is read-only after load; make_sample() is reentrant (own rng).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/result.h"
#include "dataset/dataset.h"
#include "model/model_spec.h"
#include "train/simota.h"

namespace visearch::train {

struct TrainImage {
  std::string path;
  Image image;               // cached, at most cache_side on the long side
  std::vector<GtBox> boxes;  // in cached-image pixels, class = training class id
  int original_width = 0;
  int original_height = 0;
};

struct AugmentOptions {
  bool enabled = true;
  float scale_min = 0.6F;  // multiplies the spec's resize scale
  float scale_max = 1.4F;
  float flip_probability = 0.5F;
  float hue_gain = 0.015F;  // fraction of the hue circle
  float saturation_gain = 0.5F;
  float value_gain = 0.3F;
};

// Loads the images of `indices` in `dataset`; `class_of` maps a data-set class id to a training class
// (-1 = not trained: its boxes are dropped). Unreadable images are an error naming the file.
Result<std::vector<TrainImage>> load_train_images(const dataset::Dataset& dataset,
                                                  const std::vector<std::size_t>& indices,
                                                  const std::vector<int>& class_of, int cache_side);

// Random hue / saturation / value gains (AugmentOptions' colour part), in place.
void jitter_colour(Image& img, const AugmentOptions& augment, std::mt19937& rng);

// Writes the normalised 3 x H x W tensor to `out` (times `input_factor`) and returns the boxes in
// input pixels.
std::vector<GtBox> make_sample(const TrainImage& image, const PreprocessSpec& spec,
                               const AugmentOptions& augment, std::mt19937& rng, float input_factor,
                               float* out);

}  // namespace visearch::train
