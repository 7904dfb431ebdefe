#include "core/models/linear.h"

#include "core/models/onednn_kernels.h"
#include "core/models/quantized_weights.h"

namespace latent::models {
namespace {

// Below this many rows the oneDNN set-up costs more than it saves.
constexpr int64_t kMinRows = 64;

bool use_onednn_rows(const torch::Tensor& x, const torch::Tensor& weight) {
  const auto type = x.scalar_type();
  return x.device().is_cpu() && (type == torch::kFloat32 || type == torch::kBFloat16) &&
         weight.scalar_type() == type && x.dim() >= 2 && x.numel() / x.size(-1) >= kMinRows;
}

// The epilogue with LibTorch's operators, after the product.
torch::Tensor apply_after(torch::Tensor y, const onednn::Epilogue& epilogue) {
  if (epilogue.gelu) y = torch::gelu(y);
  if (epilogue.exp) y = torch::exp(y);
  if (epilogue.times.defined()) y = y.mul(epilogue.times);
  if (epilogue.plus.defined()) y = y.add(epilogue.plus);
  return y;
}

// The epilogue's [M, O] tensors as the [1, M, O] that batched_matmul takes.
onednn::Epilogue as_batch_of_one(const onednn::Epilogue& epilogue, int64_t m, int64_t o) {
  onednn::Epilogue rows = epilogue;
  if (rows.times.defined()) rows.times = rows.times.view({1, m, o});
  if (rows.plus.defined()) rows.plus = rows.plus.view({1, m, o});
  return rows;
}

// x [M, K] rows times weight [O, K] (+ bias [O]) → [M, O], then the epilogue ([M, O] tensors).
torch::Tensor rows_times_weight(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias, const onednn::Epilogue& epilogue) {
  const int64_t m = x.size(0), k = x.size(1), o = weight.size(0);
  // Training needs gradients, which a product written into a tensor made beforehand does
  // not give; the convolution does.
  const bool needs_grad =
      torch::GradMode::is_enabled() &&
      (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  if (onednn::available() && !needs_grad) {
    // The weight read through its transposed strides, the bias added by the product.
    auto out = torch::empty({m, o}, x.options());
    const auto b = bias.defined() ? bias.to(x.scalar_type()).contiguous() : torch::Tensor();
    const auto batch_out = out.unsqueeze(0);
    const auto batch_epilogue = as_batch_of_one(epilogue, m, o);
    const bool inside = onednn::takes_epilogue(batch_epilogue, batch_out);
    onednn::batched_matmul(x.unsqueeze(0), weight.t().unsqueeze(0), batch_out, 1.0f, b,
                           inside ? batch_epilogue : onednn::Epilogue());
    return inside ? out : apply_after(out, epilogue);
  }
  const auto rows = x.stride(1) == 1 && x.stride(0) == k ? x : x.contiguous();  // [M, K]
  // [M, K] rows are a channels-last [1, K, M, 1] image; the output comes back the same way.
  const auto image = rows.as_strided({1, k, m, 1}, {m * k, 1, k, k});
  const auto w = weight.view({o, k, 1, 1});
  const auto out = at::conv2d(image, w, bias);                            // [1, O, M, 1]
  return apply_after(out.permute({0, 2, 3, 1}).reshape({m, o}), epilogue);  // a view when channels-last
}

}  // namespace

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight,
                     const torch::Tensor& bias, const onednn::Epilogue& epilogue) {
  if (!use_onednn_rows(x, weight)) return apply_after(torch::linear(x, weight, bias), epilogue);
  const int64_t k = x.size(-1), o = weight.size(0), m = x.numel() / k;
  const auto flat = [&](const torch::Tensor& t) { return t.defined() ? t.reshape({m, o}) : t; };
  onednn::Epilogue rows = epilogue;
  rows.times = flat(epilogue.times);
  rows.plus = flat(epilogue.plus);
  const auto out = rows_times_weight(x.reshape({-1, k}), weight.contiguous(), bias, rows);  // [M, O]
  auto sizes = x.sizes().vec();
  sizes.back() = o;
  return out.view(sizes);
}

torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x,
                     const onednn::Epilogue& epilogue) {
  return linear(x, compute_weight(*layer, layer->weight, x.scalar_type()), layer->bias, epilogue);
}

torch::Tensor linear(const torch::nn::Conv2d& pointwise, const torch::Tensor& x,
                     const onednn::Epilogue& epilogue) {
  const auto weight = compute_weight(*pointwise, pointwise->weight, x.scalar_type());
  return linear(x, weight.flatten(1), pointwise->bias, epilogue);
}

}  // namespace latent::models
