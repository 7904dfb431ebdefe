#pragma once

// ESRGAN's generator as Real-ESRGAN / BasicSR write it (basicsr/archs/rrdbnet_arch.py):
// residual-in-residual dense blocks, two nearest ×2 upsamplings, and for ×2 and ×1 models
// a pixel unshuffle in front so that the body always runs at a quarter of the output size.
// Parameter paths equal BasicSR's keys (conv_first, body.N.rdbK.convJ, conv_body,
// conv_up1, conv_up2, conv_hr, conv_last); older ESRGAN files are renamed to them by
// core/pipeline/upscaler_files.cpp.

#include <torch/torch.h>

#include <cstdint>

namespace latent::models {

// ESRGAN files carry no config: these numbers are what the loader reads from the weights'
// names and shapes (see RRDBNetConfig::from_weights in upscaler_files.cpp).
struct RRDBNetConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t features = 64;   // num_feat
  int64_t growth = 32;     // num_grow_ch
  int64_t blocks = 23;     // num_block
  int64_t scale = 4;       // 4, 2 or 1 (a ×2 / ×1 model unshuffles its input by 2 / 4)
};

// One dense block: five convolutions, each reading the block's input and every earlier
// output, LeakyReLU(0.2) between, the last scaled by 0.2 onto the input.
struct ResidualDenseBlockImpl : torch::nn::Module {
  ResidualDenseBlockImpl(int64_t features, int64_t growth);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr}, conv5{nullptr};
};
TORCH_MODULE(ResidualDenseBlock);

// Three dense blocks, their result scaled by 0.2 onto the input.
struct RRDBImpl : torch::nn::Module {
  RRDBImpl(int64_t features, int64_t growth);
  torch::Tensor forward(const torch::Tensor& x);
  ResidualDenseBlock rdb1{nullptr}, rdb2{nullptr}, rdb3{nullptr};
};
TORCH_MODULE(RRDB);

struct RRDBNetImpl : torch::nn::Module {
  explicit RRDBNetImpl(const RRDBNetConfig& config);
  // [B,3,H,W] in [0,1] → [B,3,H·scale,W·scale] (H and W multiples of 4 / scale).
  torch::Tensor forward(const torch::Tensor& x);
  // Pixels of context a tile needs on each side so that its centre is computed as in the
  // whole picture: every 3×3 convolution reaches one pixel further at its resolution.
  int64_t receptive_radius() const;

  RRDBNetConfig config;
  torch::nn::Conv2d conv_first{nullptr};
  torch::nn::Sequential body{nullptr};
  torch::nn::Conv2d conv_body{nullptr}, conv_up1{nullptr}, conv_up2{nullptr}, conv_hr{nullptr},
      conv_last{nullptr};
};
TORCH_MODULE(RRDBNet);

}  // namespace latent::models
