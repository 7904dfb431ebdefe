#include "core/models/linear.h"

#include "core/models/quantized_weights.h"

namespace latent::models {
namespace {

// Below this many rows the convolution's set-up costs more than it saves.
constexpr int64_t kMinRows = 64;

bool use_convolution(const torch::Tensor& x, const torch::Tensor& weight) {
  const auto type = x.scalar_type();
  return x.device().is_cpu() && (type == torch::kFloat32 || type == torch::kBFloat16) &&
         weight.scalar_type() == type && x.dim() >= 2 && x.numel() / x.size(-1) >= kMinRows;
}

}  // namespace

torch::Tensor rows_times_weight(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias, int64_t groups) {
  const int64_t m = x.size(0), k = x.size(1), o = weight.size(0);
  const auto rows = x.stride(1) == 1 && x.stride(0) == k ? x : x.contiguous();  // [M, K]
  // [M, K] rows are a channels-last [1, K, M, 1] image; the output comes back the same way.
  const auto image = rows.as_strided({1, k, m, 1}, {m * k, 1, k, k});
  const auto w = weight.view({o, weight.size(1), 1, 1});
  const auto out = at::conv2d(image, w, bias, at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0},
                              at::IntArrayRef{1, 1}, groups);  // [1, O, M, 1]
  return out.permute({0, 2, 3, 1}).reshape({m, o});           // a view when channels-last
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (!use_convolution(x, weight)) return torch::linear(x, weight, bias);
  const int64_t k = x.size(-1), o = weight.size(0);
  const auto out = rows_times_weight(x.reshape({-1, k}), weight.contiguous(), bias, 1);  // [M, O]
  auto sizes = x.sizes().vec();
  sizes.back() = o;
  return out.view(sizes);
}

torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return linear(x, compute_weight(*layer, layer->weight, x.scalar_type()), layer->bias);
}

torch::Tensor linear(const torch::nn::Conv2d& pointwise, const torch::Tensor& x) {
  const auto weight = compute_weight(*pointwise, pointwise->weight, x.scalar_type());
  return linear(x, weight.flatten(1), pointwise->bias);
}

}  // namespace latent::models
