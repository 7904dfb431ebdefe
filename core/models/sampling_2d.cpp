// diffusers models/downsampling.py Downsample2D and upsampling.py Upsample2D (use_conv=True).
#include "core/models/sampling_2d.h"

#include "core/models/conv2d.h"
#include "core/util/error.h"

namespace latent::models {

namespace F = torch::nn::functional;

Downsample2DImpl::Downsample2DImpl(int64_t channels, int64_t padding_) : padding(padding_) {
  if (padding < 0)
    throw Error("Downsample2D: padding must be 0 or more, got " + std::to_string(padding));
  conv = register_module(
      "conv", torch::nn::Conv2d(
                  torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(padding)));
}

torch::Tensor Downsample2DImpl::forward(const torch::Tensor& x) {
  if (padding == 0)
    return conv2d(conv, F::pad(x, F::PadFuncOptions({0, 1, 0, 1}).mode(torch::kConstant).value(0)));
  return conv2d(conv, x);
}

Upsample2DImpl::Upsample2DImpl(int64_t channels) {
  conv = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1)));
}

torch::Tensor Upsample2DImpl::forward(const torch::Tensor& x,
                                      std::optional<std::vector<int64_t>> output_size) {
  auto opts = F::InterpolateFuncOptions().mode(torch::kNearest);
  if (output_size)
    opts.size(*output_size);
  else
    opts.scale_factor(std::vector<double>{2.0, 2.0});
  torch::Tensor h;
  try {
    h = F::interpolate(x, opts);  // [B, C, H', W'], same memory layout as x
  } catch (const c10::Error&) {
    // Some LibTorch CPU builds lack nearest upsampling of half types; it is a pure copy,
    // so a float32 round trip is exact.
    h = F::interpolate(x.to(torch::kFloat32), opts).to(x.scalar_type());
  }
  return conv2d(conv, h);
}

}  // namespace latent::models
