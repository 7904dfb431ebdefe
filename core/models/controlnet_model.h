#pragma once

// diffusers models/controlnets/controlnet.py ControlNetModel, in the subset SD 1.x/2.x
// ControlNets use: the UNet's time embedding, conv_in, down blocks and mid block (built by
// the UNet's own block factories, with their own weights), the hint encoder that brings the
// control picture to the latent size, and the 1x1 "zero convs" that turn every skip and the
// middle block's output into the residuals the UNet adds (UNetResiduals).

#include <torch/torch.h>

#include <QJsonObject>
#include <memory>
#include <string>
#include <vector>

#include "core/models/unet_2d_condition.h"

namespace latent::models {

// controlnet/config.json. `unet` holds what ControlNetModel shares with
// UNet2DConditionModel's config (its up_block_types mirror the down blocks: a ControlNet
// has no up path, the field only keeps the UNet config consistent).
struct ControlNetConfig {
  UNet2DConditionConfig unet;
  int64_t conditioning_channels = 3;
  std::vector<int64_t> conditioning_embedding_out_channels = {16, 32, 96, 256};
  bool bgr = false;  // controlnet_conditioning_channel_order "bgr": the picture's channels flipped

  // Refuses what this port does not run (global_pool_conditions, other classes) with a
  // latent::Error naming `source`, the key and its value.
  static ControlNetConfig from_json(const QJsonObject& json,
                                    const std::string& source = "config.json");
  static ControlNetConfig from_file(const std::string& path);
  // diffusers' ControlNetModel.from_unet with its defaults: the UNet's architecture, four
  // hint stages (16, 32, 96, 256), RGB order. A ControlNet always reads the latents' channels
  // (the UNet's out_channels), also beside an inpainting UNet.
  static ControlNetConfig from_unet(const UNet2DConditionConfig& unet);

  // The number of down residuals the model makes (one per UNet skip connection).
  int64_t num_down_residuals() const;
  // The UNet-style config JSON (block types, channels, layers) that single-file key
  // translation reads.
  QJsonObject unet_layout_json() const;
};

// The hint encoder (ControlNetConditioningEmbedding): conv_in → SiLU, then per stage a 3×3
// conv and a 3×3 stride-2 conv, each → SiLU, then conv_out with no activation. Pixels
// [B, 3, H, W] → [B, block_out_channels[0], ⌈H/8⌉, ⌈W/8⌉] with four stages.
struct ControlNetConditioningEmbeddingImpl : torch::nn::Module {
  ControlNetConditioningEmbeddingImpl(int64_t embedding_channels, int64_t conditioning_channels,
                                      const std::vector<int64_t>& block_out_channels);
  torch::Tensor forward(const torch::Tensor& conditioning);

  torch::nn::Conv2d conv_in{nullptr};
  std::vector<torch::nn::Conv2d> blocks;  // registered as blocks.N
  torch::nn::Conv2d conv_out{nullptr};
};
TORCH_MODULE(ControlNetConditioningEmbedding);

struct ControlNetModelImpl : torch::nn::Module {
  explicit ControlNetModelImpl(const ControlNetConfig& config);

  // sample [B, in_channels, h, w] (the scaled latents); timestep 0-dim, [1] or [B];
  // encoder_hidden_states [B, N, D]; controlnet_cond [B, 3, 8h, 8w] (pixels in [0,1], any
  // real values pass). Every residual is multiplied by `conditioning_scale` (float32), or,
  // in guess mode, by torch.logspace(-1, 0, n+1)[k] · conditioning_scale (down residual k;
  // the middle one by the last entry), as diffusers does. Residuals come back in the
  // weights' dtype.
  UNetResiduals forward(const torch::Tensor& sample, const torch::Tensor& timestep,
                        const torch::Tensor& encoder_hidden_states,
                        const torch::Tensor& controlnet_cond, double conditioning_scale,
                        bool guess_mode);

  // The hint encoder's output for a control picture, in the weights' dtype.
  torch::Tensor hint_embedding(const torch::Tensor& controlnet_cond);

  ControlNetConfig config;
  torch::nn::Conv2d conv_in{nullptr};
  TimestepEmbedding time_embedding{nullptr};
  ControlNetConditioningEmbedding controlnet_cond_embedding{nullptr};
  std::vector<std::shared_ptr<UNetDownBlock>> down_blocks;  // registered as down_blocks.N
  std::vector<torch::nn::Conv2d> controlnet_down_blocks;    // 1×1, one per skip
  std::shared_ptr<UNetMidBlock2DCrossAttn> mid_block;
  torch::nn::Conv2d controlnet_mid_block{nullptr};  // 1×1
};
TORCH_MODULE(ControlNetModel);

}  // namespace latent::models
