#pragma once

// Normalisation helpers that stay valid for half-precision activations.

#include <torch/torch.h>

namespace latent::models {

// GroupNorm / LayerNorm computed in fp32 when the input is fp16/bf16 (LibTorch 1.13's
// CPU norms refuse bf16 input with fp32 weights and lose accuracy in half), returned in
// the input's dtype.
torch::Tensor group_norm(const torch::nn::GroupNorm& norm, const torch::Tensor& x);
torch::Tensor layer_norm(const torch::nn::LayerNorm& norm, const torch::Tensor& x);

}  // namespace latent::models
