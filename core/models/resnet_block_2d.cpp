// diffusers models/resnet.py ResnetBlock2D (time_embedding_norm="default", SiLU).
#include "core/models/resnet_block_2d.h"

#include "core/models/conv2d.h"
#include "core/models/linear.h"
#include "core/models/norms.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"

namespace latent::models {

ResnetBlock2DImpl::ResnetBlock2DImpl(const ResnetBlock2DOptions& opts) : options(opts) {
  if (opts.in_channels <= 0 || opts.out_channels <= 0 || opts.groups <= 0 ||
      opts.in_channels % opts.groups != 0 || opts.out_channels % opts.groups != 0)
    throw Error("ResnetBlock2D: channels " + std::to_string(opts.in_channels) + " -> " +
                std::to_string(opts.out_channels) + " must be positive multiples of the " +
                std::to_string(opts.groups) + " norm groups");
  using namespace torch::nn;
  norm1 = register_module("norm1",
                          GroupNorm(GroupNormOptions(opts.groups, opts.in_channels).eps(opts.eps)));
  conv1 = register_module("conv1",
                          Conv2d(Conv2dOptions(opts.in_channels, opts.out_channels, 3).padding(1)));
  if (opts.temb_channels > 0)
    time_emb_proj = register_module("time_emb_proj", Linear(opts.temb_channels, opts.out_channels));
  norm2 = register_module(
      "norm2", GroupNorm(GroupNormOptions(opts.groups, opts.out_channels).eps(opts.eps)));
  conv2 = register_module(
      "conv2", Conv2d(Conv2dOptions(opts.out_channels, opts.out_channels, 3).padding(1)));
  if (opts.in_channels != opts.out_channels)
    conv_shortcut = register_module("conv_shortcut",
                                    Conv2d(Conv2dOptions(opts.in_channels, opts.out_channels, 1)));
}

torch::Tensor ResnetBlock2DImpl::forward(const torch::Tensor& x, const torch::Tensor& temb) {
  cancellation_point();
  auto h = conv2d(conv1, group_norm_silu(norm1, x));  // [B, out, H, W]
  if (time_emb_proj && temb.defined()) {
    const auto t = linear(time_emb_proj, torch::silu(temb));  // [B, out]
    h.add_(t.unsqueeze(-1).unsqueeze(-1));
  }
  h = conv2d(conv2, group_norm_silu(norm2, h));
  const auto shortcut = conv_shortcut ? conv2d(conv_shortcut, x) : x;
  h.add_(shortcut);
  if (options.output_scale_factor != 1.0) h.div_(options.output_scale_factor);
  return h;
}

}  // namespace latent::models
