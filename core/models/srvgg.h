#pragma once

// Real-ESRGAN's compact model (realesrgan/archs/srvgg_arch.py, SRVGGNetCompact, the
// "realesr-general" and anime-video models): a plain stack of 3×3 convolutions with PReLU,
// a pixel shuffle to the output size, and the input's nearest upscale added. Parameter
// paths equal its keys: body.0 (first convolution), body.1 (its PReLU), ..., the last
// convolution at body.2(n+1).

#include <torch/torch.h>

#include <cstdint>

namespace latent::models {

// The compact files carry no config either: see SRVGGConfig::from_weights in
// upscaler_files.cpp for how these are read.
struct SRVGGConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t features = 64;  // num_feat
  int64_t convs = 16;     // num_conv: the body's convolutions between the first and the last
  int64_t scale = 4;
};

struct SRVGGNetCompactImpl : torch::nn::Module {
  explicit SRVGGNetCompactImpl(const SRVGGConfig& config);
  // [B,3,H,W] in [0,1] → [B,3,H·scale,W·scale].
  torch::Tensor forward(const torch::Tensor& x);
  // Context a tile needs: one pixel per 3×3 convolution.
  int64_t receptive_radius() const { return config.convs + 2; }

  SRVGGConfig config;
  torch::nn::ModuleList body{nullptr};
};
TORCH_MODULE(SRVGGNetCompact);

}  // namespace latent::models
