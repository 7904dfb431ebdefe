#include "core/models/activations.h"

#include "core/models/onednn_kernels.h"

namespace latent::models {

bool activations_through_onednn(const torch::Tensor& x) {
  return x.scalar_type() == torch::kBFloat16 && onednn::available() && onednn::supports(x) &&
         !(torch::GradMode::is_enabled() && x.requires_grad());
}

torch::Tensor silu_(torch::Tensor x) {
  if (!activations_through_onednn(x) || !x.is_non_overlapping_and_dense()) return torch::silu_(x);
  onednn::activation_(x, onednn::Activation::silu);
  return x;
}

torch::Tensor gelu_gate(const torch::Tensor& projected) {
  const auto parts = projected.chunk(2, -1);
  if (!activations_through_onednn(projected)) return torch::gelu(parts[1]).mul_(parts[0]);
  // The gate is a strided half of each row; oneDNN's fast kernels take dense memory, so it
  // is copied out first (a tenth of the cost of LibTorch's GELU on it).
  auto gate = parts[1].contiguous();
  onednn::activation_(gate, onednn::Activation::gelu_erf);
  return gate.mul_(parts[0]);
}

}  // namespace latent::models
