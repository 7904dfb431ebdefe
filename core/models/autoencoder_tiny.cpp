// Reference: diffusers models/autoencoders/autoencoder_tiny.py and vae.py (EncoderTiny,
// DecoderTiny, AutoencoderTinyBlock).
#include "core/models/autoencoder_tiny.h"

#include <cmath>

#include "core/models/config_json.h"
#include "core/util/error.h"

namespace latent::models {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv3x3(int64_t in, int64_t out, bool bias, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).stride(stride).bias(bias));
}

// A module holding `child` under `name`, so that `child`'s parameters are named
// "<name>.<its names>" (diffusers' encoder.layers.N, decoder.layers.N).
std::shared_ptr<nn::Module> holder(const std::string& name, const nn::Sequential& child) {
  auto module = std::make_shared<nn::Module>();
  module->register_module(name, child);
  return module;
}

void check_positive(const std::vector<int64_t>& values, const char* key, const std::string& source) {
  if (values.empty()) throw Error(source + ": \"" + key + "\" must not be empty");
  for (const int64_t v : values)
    if (v <= 0) throw Error(source + ": \"" + key + "\" must hold positive numbers");
}

}  // namespace

AutoencoderTinyConfig AutoencoderTinyConfig::from_json(const QJsonObject& json,
                                                       const std::string& source) {
  namespace cj = config_json;
  AutoencoderTinyConfig c;
  c.in_channels = cj::get_int(json, "in_channels", c.in_channels, source);
  c.out_channels = cj::get_int(json, "out_channels", c.out_channels, source);
  c.latent_channels = cj::get_int(json, "latent_channels", c.latent_channels, source);
  c.encoder_block_out_channels =
      cj::get_int_list(json, "encoder_block_out_channels", c.encoder_block_out_channels, source);
  c.decoder_block_out_channels =
      cj::get_int_list(json, "decoder_block_out_channels", c.decoder_block_out_channels, source);
  c.num_encoder_blocks = cj::get_int_list(json, "num_encoder_blocks", c.num_encoder_blocks, source);
  c.num_decoder_blocks = cj::get_int_list(json, "num_decoder_blocks", c.num_decoder_blocks, source);
  c.upsampling_scaling_factor =
      cj::get_int(json, "upsampling_scaling_factor", c.upsampling_scaling_factor, source);
  c.scaling_factor = cj::get_double(json, "scaling_factor", c.scaling_factor, source);
  c.latent_magnitude = cj::get_double(json, "latent_magnitude", c.latent_magnitude, source);
  c.latent_shift = cj::get_double(json, "latent_shift", c.latent_shift, source);
  const std::string act = cj::get_string(json, "act_fn", "relu", source);
  if (act != "relu") throw Error(source + ": act_fn \"" + act + "\" is not supported (expected relu)");
  const std::string upsample = cj::get_string(json, "upsample_fn", "nearest", source);
  if (upsample != "nearest")
    throw Error(source + ": upsample_fn \"" + upsample + "\" is not supported (expected nearest)");
  if (cj::get_double(json, "shift_factor", 0.0, source) != 0.0)
    throw Error(source + ": shift_factor is not supported (expected 0)");

  check_positive(c.encoder_block_out_channels, "encoder_block_out_channels", source);
  check_positive(c.decoder_block_out_channels, "decoder_block_out_channels", source);
  if (c.num_encoder_blocks.size() != c.encoder_block_out_channels.size() ||
      c.num_decoder_blocks.size() != c.decoder_block_out_channels.size())
    throw Error(source + ": num_encoder_blocks and num_decoder_blocks need one entry per block width");
  for (const auto* blocks : {&c.num_encoder_blocks, &c.num_decoder_blocks})
    for (const int64_t n : *blocks)
      if (n < 0) throw Error(source + ": block counts must not be negative");
  if (c.in_channels <= 0 || c.out_channels <= 0 || c.latent_channels <= 0)
    throw Error(source + ": channel counts must be positive");
  if (c.upsampling_scaling_factor != 2)
    throw Error(source + ": upsampling_scaling_factor " + std::to_string(c.upsampling_scaling_factor) +
                " is not supported (expected 2)");
  if (c.encoder_block_out_channels.size() != c.decoder_block_out_channels.size())
    throw Error(source + ": the encoder and decoder need as many levels");
  if (!(c.scaling_factor > 0) || !std::isfinite(c.scaling_factor))
    throw Error(source + ": scaling_factor must be positive");
  if (!(c.latent_magnitude > 0) || !std::isfinite(c.latent_magnitude) || !std::isfinite(c.latent_shift))
    throw Error(source + ": latent_magnitude must be positive and latent_shift a number");
  return c;
}

int64_t AutoencoderTinyConfig::downscale_factor() const {
  return int64_t{1} << (decoder_block_out_channels.size() - 1);
}

AutoencoderTinyBlockImpl::AutoencoderTinyBlockImpl(int64_t in_channels, int64_t out_channels) {
  conv = register_module("conv", nn::Sequential(conv3x3(in_channels, out_channels, true), nn::ReLU(),
                                                conv3x3(out_channels, out_channels, true), nn::ReLU(),
                                                conv3x3(out_channels, out_channels, true)));
  if (in_channels != out_channels)
    skip = register_module("skip", nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, 1).bias(false)));
}

torch::Tensor AutoencoderTinyBlockImpl::forward(const torch::Tensor& x) {
  return torch::relu(conv->forward(x) + (skip ? skip->forward(x) : x));
}

AutoencoderTinyImpl::AutoencoderTinyImpl(const AutoencoderTinyConfig& c) : config_(c) {
  // EncoderTiny: conv(in → C0) + blocks, then per level a stride-2 bias-free conv + blocks,
  // then conv(C → latent).
  encoder_layers = nn::Sequential();
  int64_t width = c.in_channels;
  for (size_t i = 0; i < c.encoder_block_out_channels.size(); ++i) {
    const int64_t channels = c.encoder_block_out_channels[i];
    encoder_layers->push_back(i == 0 ? conv3x3(width, channels, true) : conv3x3(width, channels, false, 2));
    for (int64_t b = 0; b < c.num_encoder_blocks[i]; ++b)
      encoder_layers->push_back(AutoencoderTinyBlock(channels, channels));
    width = channels;
  }
  encoder_layers->push_back(conv3x3(width, c.latent_channels, true));
  encoder = register_module("encoder", holder("layers", encoder_layers));

  // DecoderTiny: conv(latent → C0), ReLU; per level blocks, then (but for the last) a
  // nearest ×2 upsample and a bias-free conv; the last level's conv (→ out) has a bias.
  decoder_layers = nn::Sequential(conv3x3(c.latent_channels, c.decoder_block_out_channels[0], true), nn::ReLU());
  const size_t levels = c.decoder_block_out_channels.size();
  for (size_t i = 0; i < levels; ++i) {
    const bool last = i + 1 == levels;
    const int64_t channels = c.decoder_block_out_channels[i];
    for (int64_t b = 0; b < c.num_decoder_blocks[i]; ++b)
      decoder_layers->push_back(AutoencoderTinyBlock(channels, channels));
    if (!last)
      decoder_layers->push_back(nn::Upsample(
          nn::UpsampleOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest)));
    const int64_t next = last ? c.out_channels : c.decoder_block_out_channels[i + 1];
    decoder_layers->push_back(conv3x3(channels, next, last));
  }
  decoder = register_module("decoder", holder("layers", decoder_layers));
}

torch::Tensor AutoencoderTinyImpl::encode(const torch::Tensor& image) {
  if (image.dim() != 4 || image.size(1) != config_.in_channels)
    throw Error("AutoencoderTiny: the image must be [B, " + std::to_string(config_.in_channels) +
                ", H, W], got " + c10::str(image.sizes()));
  const auto w = encoder_layers->parameters().front();  // a copy: parameters() is a temporary
  const auto x = image.to(w.device(), w.scalar_type());
  return encoder_layers->forward(x.add(1).div(2));  // [-1, 1] → [0, 1] first
}

torch::Tensor AutoencoderTinyImpl::decode(const torch::Tensor& latents) {
  if (latents.dim() != 4 || latents.size(1) != config_.latent_channels)
    throw Error("AutoencoderTiny: latents must be [B, " + std::to_string(config_.latent_channels) +
                ", h, w], got " + c10::str(latents.sizes()));
  const auto w = decoder_layers->parameters().front();
  const auto x = latents.to(w.device(), w.scalar_type());
  // The input clamp tanh(x/3)·3, then the layers; the output is 2y − 1, unclamped.
  return decoder_layers->forward(torch::tanh(x / 3) * 3).mul(2).sub(1);
}

torch::Tensor AutoencoderTinyImpl::scale_latents(const torch::Tensor& latents) const {
  return latents.div(2 * config_.latent_magnitude).add(config_.latent_shift).clamp(0, 1);
}

torch::Tensor AutoencoderTinyImpl::unscale_latents(const torch::Tensor& scaled) const {
  return scaled.sub(config_.latent_shift).mul(2 * config_.latent_magnitude);
}

torch::Tensor AutoencoderTinyImpl::forward(const torch::Tensor& image) {
  const auto latents = encode(image);
  const auto stored = scale_latents(latents).mul(255).round().to(torch::kUInt8);
  return decode(unscale_latents(stored.to(latents.scalar_type()).div(255)));
}

}  // namespace latent::models
