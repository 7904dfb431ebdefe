#include "core/models/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

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

// softmax(q·kᵀ)·v for q already scaled by 1/√d; any leading dimensions.
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k_t, const torch::Tensor& v,
                     bool fp32_softmax) {
  auto scores = torch::matmul(q, k_t);  // [..., nq, Nk]
  if (is_half(scores) && fp32_softmax)
    scores = torch::softmax(scores, -1, torch::kFloat32).to(v.scalar_type());
  else
    scores = torch::softmax(scores, -1);
  return torch::matmul(scores, v);  // [..., nq, d]
}

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t score_budget_bytes) {
  const int64_t chunk_target = env_int("LATENT_ATTN_CHUNK_BYTES", 1ll << 40);
  const bool fp32_softmax = env_int("LATENT_ATTN_FP32_SOFTMAX", 1) != 0;
  const bool per_head = env_int("LATENT_ATTN_PERHEAD", 0) != 0;
  const int64_t batch = q.size(0), heads = q.size(1), nq = q.size(2), nk = k.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  // Scaling the queries is cheaper than scaling the scores (d values per row, not Nk).
  const auto q_scaled = q * scale;
  // Bytes held per score while a chunk is normalised: the scores and the probabilities,
  // plus their float32 copy when half-precision rows are normalised in float32.
  const int64_t per_score = is_half(q) ? (fp32_softmax ? 8 : 4) : 8;
  const int64_t budget = std::min(score_budget_bytes, chunk_target);
  if (!per_head) {
    const int64_t row_bytes = batch * heads * nk * per_score;
    const int64_t rows = std::max<int64_t>(1, budget / std::max<int64_t>(1, row_bytes));
    const auto k_t = k.transpose(-1, -2);
    if (rows >= nq) return attend(q_scaled, k_t, v, fp32_softmax);
    auto out = torch::empty_like(q);
    for (int64_t start = 0; start < nq; start += rows) {
      const int64_t end = std::min(nq, start + rows);
      out.narrow(2, start, end - start)
          .copy_(attend(q_scaled.narrow(2, start, end - start), k_t, v, fp32_softmax));
    }
    return out;
  }
  // One batch item and a group of heads at a time, and within a head as many query rows as
  // the budget allows: products with long rows stay efficient and the scores stay in cache.
  const int64_t head_bytes = nq * nk * per_score;
  const int64_t rows = std::clamp<int64_t>(budget / std::max<int64_t>(1, nk * per_score), 1, nq);
  const int64_t group = rows < nq ? 1 : std::clamp<int64_t>(budget / std::max<int64_t>(1, head_bytes), 1, heads);
  if (group == heads && batch == 1) return attend(q_scaled, k.transpose(-1, -2), v, fp32_softmax);
  auto out = torch::empty_like(q);  // same strides as q: [B, N, h, d] in memory for the blocks
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h0 = 0; h0 < heads; h0 += group) {
      const int64_t g = std::min(group, heads - h0);
      const auto kb = k[b].narrow(0, h0, g).transpose(-1, -2);  // [g, d, Nk]
      const auto vb = v[b].narrow(0, h0, g);                      // [g, Nk, d]
      const auto qb = q_scaled[b].narrow(0, h0, g);              // [g, nq, d]
      auto ob = out[b].narrow(0, h0, g);
      for (int64_t r0 = 0; r0 < nq; r0 += rows) {
        const int64_t r = std::min(rows, nq - r0);
        ob.narrow(1, r0, r).copy_(attend(qb.narrow(1, r0, r), kb, vb, fp32_softmax));
      }
    }
  }
  return out;
}

}  // namespace latent::models
