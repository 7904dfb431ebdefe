#pragma once

// diffusers AutoencoderTiny (models/autoencoders/autoencoder_tiny.py, vae.py EncoderTiny and
// DecoderTiny): the Tiny AutoEncoder for Stable Diffusion (TAESD), a distilled VAE that
// decodes and encodes at a small fraction of the full VAE's cost, for previews and fast
// decodes. Parameter paths equal a diffusers folder's keys (encoder.layers.N...,
// decoder.layers.N...).

#include <torch/torch.h>

#include <QJsonObject>
#include <string>
#include <vector>

namespace latent::models {

// config.json of an AutoencoderTiny; the defaults are madebyollin/taesd's.
struct AutoencoderTinyConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t latent_channels = 4;
  std::vector<int64_t> encoder_block_out_channels = {64, 64, 64, 64};
  std::vector<int64_t> decoder_block_out_channels = {64, 64, 64, 64};
  std::vector<int64_t> num_encoder_blocks = {1, 3, 3, 3};
  std::vector<int64_t> num_decoder_blocks = {3, 3, 3, 1};
  int64_t upsampling_scaling_factor = 2;
  // Pipelines divide latents by it before decoding and multiply encoded ones by it (1.0 for
  // TAESD, whose latents are already on the UNet's scale).
  double scaling_factor = 1.0;
  // How latents map to [0, 1] to be stored as 8-bit pictures (scale_latents): divided by
  // twice the magnitude, shifted.
  double latent_magnitude = 3.0;
  double latent_shift = 0.5;

  // Missing keys keep their defaults; other activations, upsampling modes or mismatched
  // lists throw latent::Error naming `source`.
  static AutoencoderTinyConfig from_json(const QJsonObject& json,
                                         const std::string& source = "config.json");

  // Pixels per latent along each side: 2^(decoder levels − 1), 8 for TAESD.
  int64_t downscale_factor() const;
};

// relu(conv(relu(conv(relu(conv(x))))) + skip(x)); skip is a bias-free 1×1 conv when the
// widths differ, else the identity. Parameters conv.0, conv.2, conv.4 (and skip).
struct AutoencoderTinyBlockImpl : torch::nn::Module {
  AutoencoderTinyBlockImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Sequential conv{nullptr};
  torch::nn::Conv2d skip{nullptr};  // null: identity
};
TORCH_MODULE(AutoencoderTinyBlock);

struct AutoencoderTinyImpl : torch::nn::Module {
  explicit AutoencoderTinyImpl(const AutoencoderTinyConfig& config = {});

  // image [B, 3, H, W] in [-1, 1] → latents [B, latent, ⌈H/f⌉, ⌈W/f⌉] (no distribution,
  // nothing drawn; not multiplied by the scaling factor). Computes in the weights' device
  // and dtype; the result stays there.
  torch::Tensor encode(const torch::Tensor& image);
  // latents [B, latent, h, w], already divided by the scaling factor → image
  // [B, 3, h·f, w·f], roughly in [-1, 1] and not clamped (as diffusers' decode).
  torch::Tensor decode(const torch::Tensor& latents);

  // Latents as an 8-bit picture stores them, in [0, 1] (diffusers' scale_latents), and back
  // (unscale_latents).
  torch::Tensor scale_latents(const torch::Tensor& latents) const;
  torch::Tensor unscale_latents(const torch::Tensor& scaled) const;
  // diffusers' AutoencoderTiny.forward: encode, store the latents in 8 bits as a picture
  // would (rounded), read them back, decode. What a latent saved as a PNG decodes to.
  torch::Tensor forward(const torch::Tensor& image);

  double scaling_factor() const { return config_.scaling_factor; }
  const AutoencoderTinyConfig& config() const { return config_; }

  // The two halves (registered as encoder and decoder: their parameters are
  // "layers.N..."), which load separately (TAESD's own files come one per half).
  std::shared_ptr<torch::nn::Module> encoder;
  std::shared_ptr<torch::nn::Module> decoder;
  torch::nn::Sequential encoder_layers{nullptr};  // encoder.layers
  torch::nn::Sequential decoder_layers{nullptr};  // decoder.layers

 private:
  AutoencoderTinyConfig config_;
};
TORCH_MODULE(AutoencoderTiny);

}  // namespace latent::models
