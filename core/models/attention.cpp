#include "core/models/attention.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>

#include "core/models/onednn_kernels.h"
#include "core/util/cancellation.h"

namespace latent::models {
namespace {

// softmax(q·kᵀ)·v on [g, n, d] blocks, q already scaled by 1/√d, k_t = kᵀ [g, d, Nk].
// Half-precision scores are normalised in their own type: LibTorch's softmax accumulates
// in float32 inside, and a float32 copy of the scores measured slower with no visible gain
// (bf16 images stay within 1 level of float32 on average; tests/core/tst_bf16_path).
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k_t, const torch::Tensor& v) {
  auto scores = torch::bmm(q, k_t);  // [g, n, Nk]
  return torch::bmm(torch::softmax(scores, -1), v);  // [g, n, d]
}

// Blocks of scores of a few MB stay in the processor's caches between the two products
// (measured faster than whole heads at 512×512). The oneDNN path measured best at 16 MB
// when it still normalised the scores in place (float32 UNet step 4% faster than at 8 MB,
// bfloat16 4%), and without that pass 2, 8 and 16 MB are within 4% of each other at 4096
// tokens; the LibTorch path is best at 8 MB.
constexpr int64_t kBlockBytesOneDnn = 16ll << 20;
constexpr int64_t kBlockBytesLibTorch = 8ll << 20;

// How a head's queries are split so that a block of scores stays within the budget: whole
// heads, `group` at a time, when a head's scores fit; else `rows` query rows of one head.
struct Blocks {
  int64_t rows = 1, group = 1;
};

Blocks plan_blocks(int64_t nq, int64_t nk, int64_t heads, int64_t per_score, int64_t block_bytes,
                   int64_t score_budget_bytes) {
  const int64_t budget = std::max<int64_t>(1, std::min(score_budget_bytes, block_bytes));
  Blocks b;
  b.rows = std::clamp<int64_t>(budget / std::max<int64_t>(1, nk * per_score), 1, nq);
  b.group = b.rows < nq ? 1 : std::clamp<int64_t>(budget / std::max<int64_t>(1, nq * nk * per_score), 1, heads);
  return b;
}

// The row sums of eˢ within which e^(s − max s) need not be taken: every term that counts
// is then a normal float (no precision lost below 2⁻¹²⁶), and p·v cannot overflow.
constexpr float kMinRowSum = 0x1p-64f, kMaxRowSum = 0x1p64f;

bool sums_in_range(const torch::Tensor& sums) {
  const float* s = sums.data_ptr<float>();
  for (int64_t i = 0, n = sums.numel(); i < n; ++i)
    if (!(s[i] >= kMinRowSum && s[i] <= kMaxRowSum)) return false;  // NaN fails too
  return true;
}

// One block of softmax(scale·q·kᵀ)·v through oneDNN: q [g, r, d], k_t [g, d, Nk],
// v [g, Nk, d] and out [g, r, d]; scores [g, r, Nk], sums [g, r, 1] and unnormalised
// [g, r, d] (float32) are scratch. No softmax pass: the first product writes the scores'
// exponentials (eˢ, taken of its float32 results inside its kernel), oneDNN adds up each
// row, the second product takes them as they are, and its r·d results are divided by the
// row sums (the scores are Nk/d times as many). The division stays outside the product:
// oneDNN's fast kernels take a divisor per row only one matrix at a time, and a product per
// head measured 25% slower on grouped heads (1024 tokens, 20 heads of 64). Without the usual
// subtraction of each row's maximum, eˢ can overflow or lose its precision for very large
// or very negative scores; the sums show it, and such a block is computed again the usual
// way.
void attend_block_onednn(const torch::Tensor& q, const torch::Tensor& k_t, const torch::Tensor& v,
                         torch::Tensor out, float scale, const torch::Tensor& scores,
                         const torch::Tensor& sums, const torch::Tensor& unnormalised) {
  onednn::Epilogue exponential;
  exponential.exp = true;
  onednn::batched_matmul(q, k_t, scores, scale, {}, exponential);
  onednn::row_sums(scores, sums);
  if (sums_in_range(sums)) {
    onednn::batched_matmul(scores, v, unnormalised);
    torch::div_out(out, unnormalised, sums);
    return;
  }
  onednn::batched_matmul(q, k_t, scores, scale);
  onednn::softmax_last_dim_(scores);
  onednn::batched_matmul(scores, v, out);
}

// The CPU path with oneDNN, a block of queries at a time, in reused scratch buffers.
// oneDNN's brgemm kernels (AMX, AVX512-BF16) take only dense operands: a head viewed out of
// [B, N, h·d] (a row stride of h·d) sends a product to the generic gemm:jit, measured at
// 12–19 GFLOP/s in bf16 against hundreds. So q, k, v and the result are dense per head,
// [B, h, N, d], at the price of a copy of each (N·h·d values against the products'
// N·Nk·h·d multiply-adds); kᵀ is a transposed view, which brgemm reads as it is.
torch::Tensor attention_onednn(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               int64_t score_budget_bytes) {
  const int64_t batch = q.size(0), heads = q.size(1), nq = q.size(2), nk = k.size(2), d = q.size(3);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const auto blocks = plan_blocks(nq, nk, heads, q.element_size(), kBlockBytesOneDnn, score_budget_bytes);
  const int64_t block_rows = blocks.group * blocks.rows;
  const auto scores_memory = torch::empty({block_rows * nk}, q.options());
  const auto sums_memory = torch::empty({block_rows}, q.options().dtype(torch::kFloat32));
  const auto unnormalised_memory = torch::empty({block_rows * d}, q.options().dtype(torch::kFloat32));
  const auto qd = q.contiguous(), kd = k.contiguous(), vd = v.contiguous();  // [B, h, N, d]
  auto out = torch::empty({batch, heads, nq, d}, q.options());                // [B, h, N, d]
  for (int64_t b = 0; b < batch; ++b) {
    const auto qb = qd[b], k_t = kd[b].transpose(1, 2), vb = vd[b], ob = out[b];  // [h, ., .]
    for (int64_t h0 = 0; h0 < heads; h0 += blocks.group) {
      const int64_t g = std::min(blocks.group, heads - h0);
      for (int64_t r0 = 0; r0 < nq; r0 += blocks.rows) {
        cancellation_point();  // a large image's attention alone can take seconds
        const int64_t r = std::min(blocks.rows, nq - r0);
        attend_block_onednn(qb.narrow(0, h0, g).narrow(1, r0, r), k_t.narrow(0, h0, g), vb.narrow(0, h0, g),
                            ob.narrow(0, h0, g).narrow(1, r0, r), scale,
                            scores_memory.narrow(0, 0, g * r * nk).view({g, r, nk}),
                            sums_memory.narrow(0, 0, g * r).view({g, r, 1}),
                            unnormalised_memory.narrow(0, 0, g * r * d).view({g, r, d}));
      }
    }
  }
  return out;
}

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t score_budget_bytes) {
#if TORCH_VERSION_MAJOR >= 2
  // On CUDA, LibTorch 2.x picks a fused kernel (flash or memory-efficient attention) that
  // never holds the score matrix, within any budget, and supports gradients.
  if (q.is_cuda()) return at::scaled_dot_product_attention(q, k, v);
#endif
  // Training (core/training) needs gradients: the blocked paths below write into
  // preallocated outputs, which autograd cannot follow, so take the plain formula.
  if (torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
    return torch::softmax(torch::matmul(q * scale, k.transpose(-1, -2)), -1).matmul(v);  // [B, h, N, d]
  }
  if (onednn::supports(q)) return attention_onednn(q, k, v, score_budget_bytes);
  const int64_t batch = q.size(0), heads = q.size(1), nq = q.size(2), nk = k.size(2), d = q.size(3);
  const int64_t bh = batch * heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // Contiguous [B·h, N, d] operands, made once: matmul would otherwise copy the strided
  // head views again for every chunk. Scaling q costs d values per row, the scores Nk.
  auto qc = torch::empty({batch, heads, nq, d}, q.options());
  torch::mul_out(qc, q, scale);
  const auto q3 = qc.view({bh, nq, d});
  const auto k_t = k.reshape({bh, nk, d}).transpose(1, 2);  // [B·h, d, Nk]
  const auto v3 = v.reshape({bh, nk, d});                    // [B·h, Nk, d]

  // Bytes held per score while a block is normalised: scores and probabilities. Groups
  // of heads may cross from one batch item to the next here.
  const auto blocks = plan_blocks(nq, nk, bh, 2 * q.element_size(), kBlockBytesLibTorch, score_budget_bytes);
  const int64_t rows = blocks.rows, group = blocks.group;

  // The result lives as [B, N, h, d] so the caller's merge of the heads is a view.
  auto out = torch::empty({batch, nq, heads, d}, q.options()).permute({0, 2, 1, 3});  // [B, h, N, d]
  if (group >= bh) {
    out.copy_(attend(q3, k_t, v3).view({batch, heads, nq, d}));
    return out;
  }
  for (int64_t i = 0; i < bh; i += group) {
    const int64_t g = std::min(group, bh - i);
    const auto kb = k_t.narrow(0, i, g), vb = v3.narrow(0, i, g), qb = q3.narrow(0, i, g);
    for (int64_t r0 = 0; r0 < nq; r0 += rows) {
      cancellation_point();
      const int64_t r = std::min(rows, nq - r0);
      const auto block = attend(qb.narrow(1, r0, r), kb, vb);  // [g, r, d]
      // Heads i .. i+g of the flattened B·h, possibly across a batch boundary.
      for (int64_t j = 0; j < g; ++j)
        out[(i + j) / heads][(i + j) % heads].narrow(0, r0, r).copy_(block[j]);
    }
  }
  return out;
}

}  // namespace latent::models
