#include "core/models/attention.h"

#include <algorithm>
#include <cmath>

namespace latent::models {
namespace {

torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k_t, const torch::Tensor& v,
                     double scale) {
  auto scores = torch::matmul(q, k_t).mul_(scale);  // [B, h, nq, Nk]
  // Half-precision softmax loses too much over long rows; normalise in fp32.
  if (scores.scalar_type() != torch::kFloat32 && scores.scalar_type() != torch::kFloat64)
    scores = torch::softmax(scores, -1, torch::kFloat32).to(v.scalar_type());
  else
    scores = torch::softmax(scores, -1);
  return torch::matmul(scores, v);  // [B, h, nq, d]
}

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t score_budget_bytes) {
  const int64_t batch_heads = q.size(0) * q.size(1);
  const int64_t nq = q.size(2);
  const int64_t nk = k.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  const auto k_t = k.transpose(-1, -2);
  // Scores are kept in fp32 while normalising, so budget 4 bytes per score.
  const int64_t row_bytes = batch_heads * nk * 4;
  const int64_t rows = std::max<int64_t>(1, score_budget_bytes / std::max<int64_t>(1, row_bytes));
  if (rows >= nq) return attend(q, k_t, v, scale);

  auto out = torch::empty_like(q);
  for (int64_t start = 0; start < nq; start += rows) {
    const int64_t end = std::min(nq, start + rows);
    out.narrow(2, start, end - start).copy_(attend(q.narrow(2, start, end - start), k_t, v, scale));
  }
  return out;
}

}  // namespace latent::models
