#pragma once

// Linear layers through oneDNN on the CPU.

#include <torch/torch.h>

#include "core/models/onednn_kernels.h"

namespace latent::models {

// y = x·Wᵀ + b. On the CPU, rows of x go through oneDNN's matrix product, the weight read
// through its transposed strides and the bias added inside: LibTorch 1.13 hands float32
// linear layers to the system BLAS (Debian's OpenBLAS does not know recent processors). A
// 1×1 convolution, used before, measured slower on SD 1.5's shapes (bf16 86 → 75 ms over
// one of each, float32 202 → 152 ms; 1.6× on the feed-forward's widening products), its
// weights put into a blocked layout at every call. Where the build has no oneDNN of its
// own, and where gradients are wanted (training), the rows still go through LibTorch's
// convolution. Elsewhere, and for few rows, plain torch::linear.
//
// The epilogue's tensors have the result's sizes [..., out]. On the oneDNN path, with
// contiguous tensors, it runs inside the product; elsewhere after it, with LibTorch's ops.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight,
                     const torch::Tensor& bias, const onednn::Epilogue& epilogue = {});
// A layer's product; an 8-bit weight (quantized_weights.h) is dequantized to x's precision first.
torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x,
                     const onednn::Epilogue& epilogue = {});
// A 1×1 convolution's product on tokens x [..., in] → [..., out].
torch::Tensor linear(const torch::nn::Conv2d& pointwise, const torch::Tensor& x,
                     const onednn::Epilogue& epilogue = {});

}  // namespace latent::models
