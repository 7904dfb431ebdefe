#pragma once

// The pieces of diffusers' AutoencoderKL (models/autoencoders/vae.py Encoder/Decoder,
// unets/unet_2d_blocks.py DownEncoderBlock2D/UpDecoderBlock2D/UNetMidBlock2D, and the
// single-head spatial Attention with AttnProcessor). Parameter paths equal diffusers' keys.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "core/models/resnet_block_2d.h"
#include "core/models/sampling_2d.h"

namespace latent::models {

// Self-attention over the H·W positions of a feature map, one head of C channels, with
// group norm in front and the input added back (diffusers Attention, residual_connection).
struct VaeAttentionImpl : torch::nn::Module {
  VaeAttentionImpl(int64_t channels, int64_t groups, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // [B, C, H, W] -> [B, C, H, W]

  torch::nn::GroupNorm group_norm{nullptr};
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out{nullptr};  // to_out.0: Linear
};
TORCH_MODULE(VaeAttention);

// resnets.0, attentions.0 (optional), resnets.1, without time embedding.
struct VaeMidBlock2DImpl : torch::nn::Module {
  VaeMidBlock2DImpl(int64_t channels, int64_t groups, double eps, bool add_attention);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::ModuleList resnets{nullptr};
  torch::nn::ModuleList attentions{nullptr};  // empty without attention
};
TORCH_MODULE(VaeMidBlock2D);

struct DownEncoderBlock2DImpl : torch::nn::Module {
  DownEncoderBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t num_layers,
                         int64_t groups, double eps, bool add_downsample);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::ModuleList resnets{nullptr};
  torch::nn::ModuleList downsamplers{nullptr};  // downsamplers.0 when add_downsample
};
TORCH_MODULE(DownEncoderBlock2D);

struct UpDecoderBlock2DImpl : torch::nn::Module {
  UpDecoderBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t num_layers,
                       int64_t groups, double eps, bool add_upsample);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::ModuleList resnets{nullptr};
  torch::nn::ModuleList upsamplers{nullptr};  // upsamplers.0 when add_upsample
};
TORCH_MODULE(UpDecoderBlock2D);

struct VaeCoderOptions {
  int64_t in_channels = 3;   // image channels (encoder) or latent channels (decoder)
  int64_t out_channels = 8;  // 2·latent channels (encoder) or image channels (decoder)
  std::vector<int64_t> block_out_channels = {128, 256, 512, 512};
  int64_t layers_per_block = 2;
  int64_t norm_num_groups = 32;
  bool mid_block_add_attention = true;
};

// Image [B, 3, H, W] → moments [B, 2·latent, H/f, W/f] (before quant_conv).
struct VaeEncoderImpl : torch::nn::Module {
  explicit VaeEncoderImpl(const VaeCoderOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv_in{nullptr};
  torch::nn::ModuleList down_blocks{nullptr};
  VaeMidBlock2D mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
  torch::nn::Conv2d conv_out{nullptr};
};
TORCH_MODULE(VaeEncoder);

// Latents [B, latent, h, w] (after post_quant_conv) → image [B, 3, h·f, w·f].
struct VaeDecoderImpl : torch::nn::Module {
  explicit VaeDecoderImpl(const VaeCoderOptions& options);
  torch::Tensor forward(const torch::Tensor& z);

  torch::nn::Conv2d conv_in{nullptr};
  VaeMidBlock2D mid_block{nullptr};
  torch::nn::ModuleList up_blocks{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
  torch::nn::Conv2d conv_out{nullptr};
};
TORCH_MODULE(VaeDecoder);

}  // namespace latent::models
