// Reference: diffusers models/autoencoders/vae.py (Encoder, Decoder), unets/unet_2d_blocks.py.
#include "core/models/vae_blocks.h"

#include "core/models/attention.h"
#include "core/models/linear.h"
#include "core/models/norms.h"
#include "core/util/error.h"

namespace latent::models {
namespace {

using torch::nn::Conv2d;
using torch::nn::Conv2dOptions;
using torch::nn::GroupNorm;
using torch::nn::GroupNormOptions;

// Every GroupNorm of diffusers' VAE uses eps 1e-6.
constexpr double kVaeNormEps = 1e-6;

ResnetBlock2D make_resnet(int64_t in_channels, int64_t out_channels, int64_t groups, double eps) {
  ResnetBlock2DOptions o;
  o.in_channels = in_channels;
  o.out_channels = out_channels;
  o.temb_channels = 0;
  o.groups = groups;
  o.eps = eps;
  return ResnetBlock2D(o);
}

torch::Tensor run_resnet(const torch::nn::ModuleListImpl& list, size_t i, const torch::Tensor& x) {
  return list[i]->as<ResnetBlock2D>()->forward(x);
}

}  // namespace

VaeAttentionImpl::VaeAttentionImpl(int64_t channels, int64_t groups, double eps) {
  group_norm =
      register_module("group_norm", GroupNorm(GroupNormOptions(groups, channels).eps(eps)));
  to_q = register_module("to_q", torch::nn::Linear(channels, channels));
  to_k = register_module("to_k", torch::nn::Linear(channels, channels));
  to_v = register_module("to_v", torch::nn::Linear(channels, channels));
  to_out = register_module("to_out", torch::nn::ModuleList(torch::nn::Linear(channels, channels)));
}

torch::Tensor VaeAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  // [B, HW, C] tokens: a free view of channels-last activations.
  const auto tokens =
      latent::models::group_norm(group_norm, x).permute({0, 2, 3, 1}).reshape({b, h * w, c});
  const auto q = linear(to_q, tokens).unsqueeze(1);  // [B, 1, HW, C]
  const auto k = linear(to_k, tokens).unsqueeze(1);
  const auto v = linear(to_v, tokens).unsqueeze(1);
  auto out = attention(q, k, v).squeeze(1);  // [B, HW, C]
  const auto* proj = to_out[0]->as<torch::nn::Linear>();
  out = linear(out, proj->weight, proj->bias);
  return out.view({b, h, w, c}).permute({0, 3, 1, 2}).add_(x);  // [B, C, H, W], channels-last
}

VaeMidBlock2DImpl::VaeMidBlock2DImpl(int64_t channels, int64_t groups, double eps,
                                     bool add_attention) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  attentions = register_module("attentions", torch::nn::ModuleList());
  resnets->push_back(make_resnet(channels, channels, groups, eps));
  if (add_attention) attentions->push_back(VaeAttention(channels, groups, eps));
  resnets->push_back(make_resnet(channels, channels, groups, eps));
}

torch::Tensor VaeMidBlock2DImpl::forward(const torch::Tensor& x) {
  auto h = run_resnet(*resnets, 0, x);
  if (!attentions->is_empty()) h = attentions[0]->as<VaeAttention>()->forward(h);
  return run_resnet(*resnets, 1, h);
}

DownEncoderBlock2DImpl::DownEncoderBlock2DImpl(int64_t in_channels, int64_t out_channels,
                                               int64_t num_layers, int64_t groups, double eps,
                                               bool add_downsample) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t i = 0; i < num_layers; ++i)
    resnets->push_back(make_resnet(i == 0 ? in_channels : out_channels, out_channels, groups, eps));
  downsamplers = register_module("downsamplers", torch::nn::ModuleList());
  // The VAE pads right/bottom by one before its stride-2 convolution (padding 0).
  if (add_downsample) downsamplers->push_back(Downsample2D(out_channels, 0));
}

torch::Tensor DownEncoderBlock2DImpl::forward(const torch::Tensor& x) {
  auto h = x;
  for (size_t i = 0; i < resnets->size(); ++i) h = run_resnet(*resnets, i, h);
  if (!downsamplers->is_empty()) h = downsamplers[0]->as<Downsample2D>()->forward(h);
  return h;
}

UpDecoderBlock2DImpl::UpDecoderBlock2DImpl(int64_t in_channels, int64_t out_channels,
                                           int64_t num_layers, int64_t groups, double eps,
                                           bool add_upsample) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t i = 0; i < num_layers; ++i)
    resnets->push_back(make_resnet(i == 0 ? in_channels : out_channels, out_channels, groups, eps));
  upsamplers = register_module("upsamplers", torch::nn::ModuleList());
  if (add_upsample) upsamplers->push_back(Upsample2D(out_channels));
}

torch::Tensor UpDecoderBlock2DImpl::forward(const torch::Tensor& x) {
  auto h = x;
  for (size_t i = 0; i < resnets->size(); ++i) h = run_resnet(*resnets, i, h);
  if (!upsamplers->is_empty()) h = upsamplers[0]->as<Upsample2D>()->forward(h);
  return h;
}

VaeEncoderImpl::VaeEncoderImpl(const VaeCoderOptions& o) {
  const auto& blocks = o.block_out_channels;
  const int64_t groups = o.norm_num_groups;
  conv_in = register_module("conv_in",
                            Conv2d(Conv2dOptions(o.in_channels, blocks.front(), 3).padding(1)));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  int64_t channels = blocks.front();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const bool last = i + 1 == blocks.size();
    down_blocks->push_back(
        DownEncoderBlock2D(channels, blocks[i], o.layers_per_block, groups, kVaeNormEps, !last));
    channels = blocks[i];
  }
  mid_block = register_module(
      "mid_block", VaeMidBlock2D(channels, groups, kVaeNormEps, o.mid_block_add_attention));
  conv_norm_out = register_module("conv_norm_out",
                                  GroupNorm(GroupNormOptions(groups, channels).eps(kVaeNormEps)));
  conv_out =
      register_module("conv_out", Conv2d(Conv2dOptions(channels, o.out_channels, 3).padding(1)));
}

torch::Tensor VaeEncoderImpl::forward(const torch::Tensor& x) {
  auto h = conv_in(x);  // [B, C0, H, W]
  for (size_t i = 0; i < down_blocks->size(); ++i)
    h = down_blocks[i]->as<DownEncoderBlock2D>()->forward(h);
  h = mid_block(h);  // [B, Cn, H/f, W/f]
  return conv_out(group_norm_silu(conv_norm_out, h));  // [B, 2·latent, H/f, W/f]
}

VaeDecoderImpl::VaeDecoderImpl(const VaeCoderOptions& o) {
  const std::vector<int64_t> reversed(o.block_out_channels.rbegin(), o.block_out_channels.rend());
  const int64_t groups = o.norm_num_groups;
  conv_in = register_module("conv_in",
                            Conv2d(Conv2dOptions(o.in_channels, reversed.front(), 3).padding(1)));
  mid_block = register_module(
      "mid_block", VaeMidBlock2D(reversed.front(), groups, kVaeNormEps, o.mid_block_add_attention));
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  int64_t channels = reversed.front();
  for (size_t i = 0; i < reversed.size(); ++i) {
    const bool last = i + 1 == reversed.size();
    up_blocks->push_back(UpDecoderBlock2D(channels, reversed[i], o.layers_per_block + 1, groups,
                                          kVaeNormEps, !last));
    channels = reversed[i];
  }
  conv_norm_out = register_module("conv_norm_out",
                                  GroupNorm(GroupNormOptions(groups, channels).eps(kVaeNormEps)));
  conv_out =
      register_module("conv_out", Conv2d(Conv2dOptions(channels, o.out_channels, 3).padding(1)));
}

torch::Tensor VaeDecoderImpl::forward(const torch::Tensor& z) {
  auto h = conv_in(z);  // [B, Cn, h, w]
  h = mid_block(h);
  for (size_t i = 0; i < up_blocks->size(); ++i)
    h = up_blocks[i]->as<UpDecoderBlock2D>()->forward(h);
  return conv_out(group_norm_silu(conv_norm_out, h));  // [B, C0, h·f, w·f] -> [B, 3, h·f, w·f]
}

}  // namespace latent::models
