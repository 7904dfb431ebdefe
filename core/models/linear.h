#pragma once

// Linear layers through oneDNN on the CPU.

#include <torch/torch.h>

namespace latent::models {

// y = x·Wᵀ + b. On the CPU, rows of x go through oneDNN as a 1×1 convolution: LibTorch
// 1.13 hands float32 linear layers to the system BLAS (Debian's OpenBLAS does not know
// recent processors), and even for bf16 the convolution primitive measured faster here
// (float32 2×, bf16 1.15×). Elsewhere, and for few rows, plain torch::linear.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);
// A layer's product; an 8-bit weight (quantized_weights.h) is dequantized to x's precision first.
torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x);
// A 1×1 convolution's product on tokens x [..., in] → [..., out].
torch::Tensor linear(const torch::nn::Conv2d& pointwise, const torch::Tensor& x);

// x [M, K] rows times a [O, K/groups] matrix (+ bias [O] when defined) through a 1×1
// convolution with `groups` groups: output columns g·O/groups.. see only input columns
// g·K/groups.. ; returns [M, O].
torch::Tensor rows_times_weight(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias, int64_t groups);

}  // namespace latent::models
