// The optimiser pieces every libtorch training in visearch uses (detector fine-tuning, catalog
// adaptation): SGD with Nesterov momentum and decoupled-from-bias weight decay, gradient-norm clipping,
// and the thread setting of libtorch and its BLAS.
// Thread-safety: an Sgd belongs to one training loop.
#pragma once

#include <map>
#include <string>

#include <ATen/ATen.h>

namespace visearch::train {

struct Sgd {
  double momentum_factor = 0.9;
  std::map<std::string, at::Tensor> momentum;
  // One step over every parameter with a gradient (weight decay on tensors of 2+ dims only, not on
  // biases); the gradients are zeroed.
  void step(std::map<std::string, at::Tensor>& params, double lr, double weight_decay);
};

// Scales the gradients down so that their global L2 norm is at most `max_norm`; returns the norm before.
double clip_grad_norm(std::map<std::string, at::Tensor>& params, double max_norm);

// libtorch's intra-op threads and OpenBLAS's own pool (which otherwise keeps all cores and makes its
// reductions vary run to run). threads <= 0 leaves both as they are.
void set_training_threads(int threads);

}  // namespace visearch::train
