#include "core/models/activations.h"

#include "core/models/onednn_kernels.h"

namespace latent::models {
namespace {

// Whether oneDNN takes the activation of `x`: bfloat16 on the CPU, outside training.
bool through_onednn(const torch::Tensor& x) {
  return x.scalar_type() == torch::kBFloat16 && onednn::supports_inference(x);
}

}  // namespace

torch::Tensor silu_(torch::Tensor x) {
  if (!through_onednn(x) || !x.is_non_overlapping_and_dense()) return torch::silu_(x);
  onednn::activation_(x, onednn::Activation::silu);
  return x;
}

torch::Tensor gelu_gate(const torch::Tensor& projected) {
  const auto parts = projected.chunk(2, -1);
  if (!through_onednn(projected)) return torch::gelu(parts[1]).mul_(parts[0]);
  // The gate is a strided half of each row; oneDNN's fast kernels take dense memory, so it
  // is copied out first (a tenth of the cost of LibTorch's GELU on it).
  auto gate = parts[1].contiguous();
  onednn::activation_(gate, onednn::Activation::gelu_erf);
  return gate.mul_(parts[0]);
}

}  // namespace latent::models
