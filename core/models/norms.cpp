#include "core/models/norms.h"

namespace latent::models {
namespace {

bool is_half(const torch::Tensor& x) {
  return x.scalar_type() == torch::kHalf || x.scalar_type() == torch::kBFloat16;
}

torch::Tensor as_float(const torch::Tensor& t) { return t.defined() ? t.to(torch::kFloat32) : t; }

}  // namespace

torch::Tensor group_norm(const torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  const auto& o = norm->options;
  if (!is_half(x)) return torch::group_norm(x, o.num_groups(), norm->weight, norm->bias, o.eps());
  return torch::group_norm(x.to(torch::kFloat32), o.num_groups(), as_float(norm->weight),
                           as_float(norm->bias), o.eps())
      .to(x.scalar_type());
}

torch::Tensor layer_norm(const torch::nn::LayerNorm& norm, const torch::Tensor& x) {
  const auto& o = norm->options;
  if (!is_half(x))
    return torch::layer_norm(x, o.normalized_shape(), norm->weight, norm->bias, o.eps());
  return torch::layer_norm(x.to(torch::kFloat32), o.normalized_shape(), as_float(norm->weight),
                           as_float(norm->bias), o.eps())
      .to(x.scalar_type());
}

}  // namespace latent::models
