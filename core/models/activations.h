#pragma once

// The UNet's and the VAE's activations on large tensors. In bfloat16 on the CPU they run
// through oneDNN's elementwise kernels: LibTorch 1.13 computes them with its AVX2 code, and
// in a profile of one guided 512×512 step of SD 1.5 its GELU took 8% and SiLU 2% (10% of a
// VAE decode). Elsewhere — float32, other devices, tensors that carry gradients — they are
// LibTorch's. (The UNet's GEGLU on the CPU computes its GELU inside its products instead, in
// float32 too: transformer_2d.cpp.)

#include <torch/torch.h>

namespace latent::models {

// SiLU in place on `x`, which the caller owns (no other tensor may share its memory).
torch::Tensor silu_(torch::Tensor x);

// GEGLU's activation: GELU (exact, erf) of the projection's second half times its first,
// for `projected` [..., 2·inner]; returns [..., inner].
torch::Tensor gelu_gate(const torch::Tensor& projected);

}  // namespace latent::models
