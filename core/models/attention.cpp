#include "core/models/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/models/linear.h"

namespace latent::models {
namespace {

bool is_half(const torch::Tensor& t) {
  return t.scalar_type() == torch::kHalf || t.scalar_type() == torch::kBFloat16;
}

// TEMPORARY measurement knobs (removed once chosen).
int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

// softmax(q·kᵀ)·v on [g, n, d] blocks, q already scaled by 1/√d, k_t = kᵀ [g, d, Nk].
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k_t, const torch::Tensor& v,
                     bool fp32_softmax) {
  auto scores = torch::bmm(q, k_t);  // [g, n, Nk]
  if (fp32_softmax && is_half(scores))
    scores = torch::softmax(scores, -1, torch::kFloat32).to(v.scalar_type());
  else
    scores = torch::softmax(scores, -1);
  return torch::bmm(scores, v);  // [g, n, d]
}

// float32 on the CPU: the products as grouped 1×1 convolutions in oneDNN, one group per
// head, working on the [N, h·d] token rows the projections produce (LibTorch 1.13's
// float32 bmm goes through the system BLAS at half the speed). Rows of queries in chunks
// of `rows`, the scores of a chunk [rows, h, Nk] never larger than the budget.
torch::Tensor attention_rows(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             int64_t rows) {
  const int64_t batch = q.size(0), heads = q.size(1), nq = q.size(2), nk = k.size(2), d = q.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto q_rows = (q.transpose(1, 2) * scale).reshape({batch, nq, heads * d});  // [B, N, h·d]
  const auto k_heads = k.contiguous().view({batch, heads * nk, d});                 // [B, h·Nk, d]
  const auto v_cols = v.permute({0, 1, 3, 2}).contiguous().view({batch, heads * d, nk});  // [B, h·d, Nk]
  auto out = torch::empty({batch, nq, heads * d}, q.options());
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t r0 = 0; r0 < nq; r0 += rows) {
      const int64_t r = std::min(rows, nq - r0);
      auto scores = rows_times_weight(q_rows[b].narrow(0, r0, r), k_heads[b], {}, heads);  // [r, h·Nk]
      const auto probs = torch::softmax(scores.view({r, heads, nk}), -1).view({r, heads * nk});
      out[b].narrow(0, r0, r).copy_(rows_times_weight(probs, v_cols[b], {}, heads));  // [r, h·d]
    }
  }
  return out.view({batch, nq, heads, d}).permute({0, 2, 1, 3});  // [B, h, N, d]
}

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t score_budget_bytes) {
  // Training (core/training) needs gradients: the blocked paths below write into
  // preallocated outputs, which autograd cannot follow, so take the plain formula.
  if (torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
    return torch::softmax(torch::matmul(q * scale, k.transpose(-1, -2)), -1).matmul(v);  // [B, h, N, d]
  }
  const int64_t chunk_target = env_int("LATENT_ATTN_CHUNK_BYTES", 8ll << 20);
  const bool fp32_softmax = env_int("LATENT_ATTN_FP32_SOFTMAX", 0) != 0;
  const int64_t batch = q.size(0), heads = q.size(1), nq = q.size(2), nk = k.size(2), d = q.size(3);
  const int64_t bh = batch * heads;
  if (q.scalar_type() == torch::kFloat32 && q.device().is_cpu() && env_int("LATENT_ATTN_CONV", 0)) {
    const int64_t row_bytes = heads * nk * 8;  // float32 scores and probabilities
    const int64_t budget = std::max<int64_t>(1, std::min(score_budget_bytes, chunk_target));
    return attention_rows(q, k, v, std::clamp<int64_t>(budget / row_bytes, 1, nq));
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // Contiguous [B·h, N, d] operands, made once: matmul would otherwise copy the strided
  // head views again for every chunk. Scaling q costs d values per row, the scores Nk.
  auto qc = torch::empty({batch, heads, nq, d}, q.options());
  torch::mul_out(qc, q, scale);
  const auto q3 = qc.view({bh, nq, d});
  const auto k_t = k.reshape({bh, nk, d}).transpose(1, 2);  // [B·h, d, Nk]
  const auto v3 = v.reshape({bh, nk, d});                    // [B·h, Nk, d]

  // Bytes held per score while a block is normalised: scores and probabilities, plus a
  // float32 copy when half-precision rows are normalised in float32.
  const int64_t per_score = is_half(q) && !fp32_softmax ? 2 * q.element_size() : 8;
  const int64_t budget = std::max<int64_t>(1, std::min(score_budget_bytes, chunk_target));
  // Blocks of whole heads when a head's scores fit, else of query rows within one head:
  // small enough to stay in cache, long enough for efficient products.
  const int64_t head_bytes = nq * nk * per_score;
  const int64_t rows = std::clamp<int64_t>(budget / std::max<int64_t>(1, nk * per_score), 1, nq);
  const int64_t group = rows < nq ? 1 : std::clamp<int64_t>(budget / std::max<int64_t>(1, head_bytes), 1, bh);

  // The result lives as [B, N, h, d] so the caller's merge of the heads is a view.
  auto out = torch::empty({batch, nq, heads, d}, q.options()).permute({0, 2, 1, 3});  // [B, h, N, d]
  if (group >= bh) {
    out.copy_(attend(q3, k_t, v3, fp32_softmax).view({batch, heads, nq, d}));
    return out;
  }
  for (int64_t i = 0; i < bh; i += group) {
    const int64_t g = std::min(group, bh - i);
    const auto kb = k_t.narrow(0, i, g), vb = v3.narrow(0, i, g), qb = q3.narrow(0, i, g);
    for (int64_t r0 = 0; r0 < nq; r0 += rows) {
      const int64_t r = std::min(rows, nq - r0);
      const auto block = attend(qb.narrow(1, r0, r), kb, vb, fp32_softmax);  // [g, r, d]
      // Heads i .. i+g of the flattened B·h, possibly across a batch boundary.
      for (int64_t j = 0; j < g; ++j)
        out[(i + j) / heads][(i + j) % heads].narrow(0, r0, r).copy_(block[j]);
    }
  }
  return out;
}

}  // namespace latent::models
