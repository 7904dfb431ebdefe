#pragma once

#include <torch/torch.h>

namespace latent::models {

// Scaled dot-product attention, softmax(q·kᵀ·scale)·v, over [B, heads, N, d] tensors.
// The score matrix is never larger than `score_budget_bytes`: when the full
// [B, heads, Nq, Nk] matrix would exceed it, queries are processed in chunks.
// On the CPU the products and softmax run through oneDNN where the build has it
// (core/models/onednn_kernels), else through LibTorch's bmm into fresh memory (1.13's
// baddbmm with beta=0 reads its uninitialised output on small problems). On CUDA with
// LibTorch 2.x the fused scaled_dot_product_attention is used instead.
constexpr int64_t kDefaultScoreBudgetBytes = 256ll * 1024 * 1024;

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t score_budget_bytes = kDefaultScoreBudgetBytes);

}  // namespace latent::models
