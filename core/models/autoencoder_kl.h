#pragma once

// diffusers AutoencoderKL (models/autoencoders/autoencoder_kl.py): the Stable Diffusion VAE.
// Parameter paths equal the keys of a diffusers folder's vae/diffusion_pytorch_model.safetensors.

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <QJsonObject>
#include <string>
#include <vector>

#include "core/models/vae_blocks.h"

namespace latent::models {

// vae/config.json; the defaults are SD 1.x's.
struct AutoencoderKLConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  std::vector<int64_t> block_out_channels = {128, 256, 512, 512};
  int64_t layers_per_block = 2;
  int64_t latent_channels = 4;
  int64_t norm_num_groups = 32;
  double scaling_factor = 0.18215;
  bool use_quant_conv = true;
  bool use_post_quant_conv = true;
  bool mid_block_add_attention = true;
  bool force_upcast = true;  // diffusers runs this VAE in fp32 when the pipeline is fp16

  // Missing keys keep their defaults; unsupported block types, activations or bad values
  // throw latent::Error naming `source`.
  static AutoencoderKLConfig from_json(const QJsonObject& json,
                                       const std::string& source = "config.json");
  static AutoencoderKLConfig from_file(const std::string& path);

  // Pixels per latent along each side: 2^(levels - 1), 8 for SD.
  int64_t downscale_factor() const;
};

// The encoder's diagonal Gaussian over latents (diffusers DiagonalGaussianDistribution).
struct LatentDistribution {
  torch::Tensor mean;    // [B, latent, h, w]
  torch::Tensor logvar;  // clamped to [-30, 20]
  torch::Tensor std;     // exp(logvar / 2)

  // mean + std·ε, with ε drawn as fp32 from `generator` on the CPU (so a seed means the
  // same on every device), then moved to mean's device and dtype.
  torch::Tensor sample(at::Generator& generator) const;
  torch::Tensor mode() const { return mean; }
};

struct AutoencoderKLImpl : torch::nn::Module {
  explicit AutoencoderKLImpl(const AutoencoderKLConfig& config = {});

  // image [B, 3, H, W] in [-1, 1] → distribution over [B, latent, H/f, W/f]. Inputs are
  // moved to the weights' device and dtype; outputs stay there.
  LatentDistribution encode(const torch::Tensor& image);
  // The encoder's output (before quant_conv) as the distribution encode() returns; for
  // encoders run piece by piece (core/pipeline/vae_encode.h).
  LatentDistribution distribution(torch::Tensor moments);
  // latents [B, latent, h, w], already divided by scaling_factor() (as diffusers' vae.decode)
  // → image [B, 3, h·f, w·f], roughly in [-1, 1].
  torch::Tensor decode(const torch::Tensor& latents);

  double scaling_factor() const { return config_.scaling_factor; }
  const AutoencoderKLConfig& config() const { return config_; }

  VaeEncoder encoder{nullptr};
  VaeDecoder decoder{nullptr};
  torch::nn::Conv2d quant_conv{nullptr};       // only with use_quant_conv
  torch::nn::Conv2d post_quant_conv{nullptr};  // only with use_post_quant_conv

 private:
  torch::Tensor to_weights(const torch::Tensor& x, int64_t channels, const char* what) const;

  AutoencoderKLConfig config_;
};
TORCH_MODULE(AutoencoderKL);

}  // namespace latent::models
