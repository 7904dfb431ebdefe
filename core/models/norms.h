#pragma once

// Normalisation helpers that stay valid for half-precision activations.

#include <torch/torch.h>

namespace latent::models {

// GroupNorm / LayerNorm. float32 input runs LibTorch's kernels; fp16/bf16 input is
// normalised with float32 statistics and arithmetic, returned in the input's dtype.
torch::Tensor group_norm(const torch::nn::GroupNorm& norm, const torch::Tensor& x);
torch::Tensor layer_norm(const torch::nn::LayerNorm& norm, const torch::Tensor& x);

// SiLU(GroupNorm(x)): in bfloat16 on the CPU in the same pass over memory, rounded once.
torch::Tensor group_norm_silu(const torch::nn::GroupNorm& norm, const torch::Tensor& x);

}  // namespace latent::models
