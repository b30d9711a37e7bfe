#include "train/optim.h"

#include <dlfcn.h>
#include <cmath>

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

namespace visearch::train {

void Sgd::step(std::map<std::string, at::Tensor>& params, double lr, double weight_decay) {
  const c10::NoGradGuard no_grad;
  for (auto& [name, p] : params) {
    if (!p.requires_grad() || !p.grad().defined()) continue;
    at::Tensor g = p.grad();
    if (p.dim() > 1) g = g + weight_decay * p;  // no decay on biases
    auto it = momentum.find(name);
    if (it == momentum.end()) it = momentum.emplace(name, at::zeros_like(p)).first;
    it->second.mul_(momentum_factor).add_(g);
    p.add_(g + momentum_factor * it->second, -lr);  // Nesterov
    p.grad().zero_();
  }
}

double clip_grad_norm(std::map<std::string, at::Tensor>& params, double max_norm) {
  double total = 0;
  for (auto& [name, p] : params) {
    if (p.grad().defined()) total += p.grad().pow(2).sum().item<double>();
  }
  total = std::sqrt(total);
  if (total > max_norm) {
    const double scale = max_norm / (total + 1e-6);
    for (auto& [name, p] : params) {
      if (p.grad().defined()) p.grad().mul_(scale);
    }
  }
  return total;
}

void set_training_threads(int threads) {
  if (threads <= 0) return;
  at::set_num_threads(threads);
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))  // NOLINT
    set(threads);
}

}  // namespace visearch::train
