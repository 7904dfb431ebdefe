#pragma once

// diffusers models/downsampling.py Downsample2D and upsampling.py Upsample2D (use_conv=True).

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace latent::models {

// 3x3 convolution with stride 2. padding 1 (UNet) pads symmetrically inside the conv;
// padding 0 (VAE) pads right/bottom by one first, as diffusers does.
struct Downsample2DImpl : torch::nn::Module {
  Downsample2DImpl(int64_t channels, int64_t padding);
  torch::Tensor forward(const torch::Tensor& x);  // [B, C, H, W] -> [B, C, ~H/2, ~W/2]

  int64_t padding;
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Downsample2D);

// Nearest-neighbour upsampling (x2, or to `output_size` = {H, W}) then a 3x3 convolution.
struct Upsample2DImpl : torch::nn::Module {
  explicit Upsample2DImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x,
                        std::optional<std::vector<int64_t>> output_size = std::nullopt);

  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample2D);

}  // namespace latent::models
