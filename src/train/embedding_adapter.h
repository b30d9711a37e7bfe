// Training a catalog's embedding adaptation (search/adaptation.h) with libtorch: a linear projection of
// frozen embedder features, learnt as a cosine classifier over the catalog's categories, plus the crop
// augmentation that turns one product photo into many training views.
//
//   features (n x in_dim, L2-normalised embeddings of augmented crops), labels (0..classes-1)
//     -> z = normalise(W x + b); logits = scale * cos(z, prototype_c); cross-entropy with label smoothing
//     -> W, b and the class prototypes (unit vectors: where each class lies in the adapted space)
//
// The optimiser is the detector trainer's (train/optim.h): SGD with Nesterov momentum, warm-up then
// cosine decay. Everything is seeded: the same inputs and seed give the same weights.
// Thread-safety: one training per call. Failure modes: kInvalidArgument for inconsistent inputs.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "core/geometry.h"
#include "core/image.h"
#include "core/result.h"
#include "train/train_data.h"

namespace visearch::train {

struct CropAugmentOptions {
  float box_jitter = 0.12F;    // each edge moves by up to this share of the box's side
  float box_grow_max = 0.25F;  // then the box grows by up to this share (context around the object)
  float flip_probability = 0.5F;
  AugmentOptions colour{true, 1.F, 1.F, 0.F, 0.01F, 0.3F, 0.25F};  // hue, saturation, value gains
  float blur_probability = 0.2F;
  float low_res_probability = 0.3F;  // shrink to 25-60 % and back: small objects in shoppers' photos
};

// One augmented view of `box` in `image` (clipped to the image; at least 2 px a side).
Image augment_crop(const Image& image, const ImageBox& box, const CropAugmentOptions& options,
                   std::mt19937& rng);

struct AdapterTrainOptions {
  int out_dim = 128;
  int epochs = 40;
  int batch = 128;
  double lr = 0.1;
  double weight_decay = 5e-4;
  double scale = 16;  // logit scale of the cosine classifier
  double label_smoothing = 0.1;
  std::uint64_t seed = 0;
  int threads = 0;  // 0 = leave libtorch's setting
};

struct AdapterWeights {
  int in_dim = 0;
  int out_dim = 0;
  std::vector<float> weight;      // out_dim x in_dim, row-major
  std::vector<float> bias;        // out_dim
  std::vector<float> prototypes;  // classes x out_dim, unit rows: each class's direction in the adapted space
  double final_loss = 0;
  double train_accuracy = 0;  // of the cosine classifier on the training views, last epoch
};

// `features`: n rows of in_dim floats; `labels`: n class ids in [0, classes).
Result<AdapterWeights> train_adapter(const std::vector<float>& features, int in_dim,
                                     const std::vector<int>& labels, int classes,
                                     const AdapterTrainOptions& options);

// The category classifier of a catalog (adaptation.h, output "softmax"): multinomial logistic regression
// of the categories on the frozen features, logits = W x + b (W: classes x in_dim), trained to the optimum
// of mean cross-entropy + weight_decay / 2 * |W|^2 with L-BFGS over all rows at once (a convex problem:
// no seed, no epochs to choose). The features are scaled by `input_scale` while training (better
// conditioned) and the scale is folded into W. `prototypes` is the identity: class c's direction is
// the one-hot vector c.
struct ClassifierTrainOptions {
  double weight_decay = 1e-3;
  // L-BFGS iterations: 100 reach the held-out figures of 300 in a third of the time (bench/RESULTS.md).
  int max_iterations = 100;
  double input_scale = 10;
  int threads = 0;  // 0 = leave libtorch's setting
};

Result<AdapterWeights> train_classifier(const std::vector<float>& features, int in_dim,
                                        const std::vector<int>& labels, int classes,
                                        const ClassifierTrainOptions& options);

}  // namespace visearch::train
