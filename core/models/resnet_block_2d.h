#pragma once

// diffusers models/resnet.py ResnetBlock2D (time_embedding_norm="default", SiLU).

#include <torch/torch.h>

#include <cstdint>

namespace latent::models {

struct ResnetBlock2DOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t temb_channels = 0;  // 0: no time embedding (VAE)
  int64_t groups = 32;
  double eps = 1e-5;
  double output_scale_factor = 1.0;
};

struct ResnetBlock2DImpl : torch::nn::Module {
  explicit ResnetBlock2DImpl(const ResnetBlock2DOptions& options);

  // x: [B, in, H, W]; temb: [B, temb_channels], raw (the block applies SiLU, as diffusers
  // does). Returns [B, out, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb = {});

  ResnetBlock2DOptions options;
  torch::nn::GroupNorm norm1{nullptr};
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::Linear time_emb_proj{nullptr};  // only when temb_channels > 0
  torch::nn::GroupNorm norm2{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  torch::nn::Conv2d conv_shortcut{nullptr};  // 1x1, only when in != out
};
TORCH_MODULE(ResnetBlock2D);

}  // namespace latent::models
