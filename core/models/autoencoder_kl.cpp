// Reference: diffusers models/autoencoders/autoencoder_kl.py and vae.py
// (DiagonalGaussianDistribution).
#include "core/models/autoencoder_kl.h"

#include "core/models/config_json.h"
#include "core/util/error.h"

namespace latent::models {
namespace {

std::string shape_text(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace

AutoencoderKLConfig AutoencoderKLConfig::from_json(const QJsonObject& json,
                                                   const std::string& source) {
  namespace cj = config_json;
  AutoencoderKLConfig c;
  c.in_channels = cj::get_int(json, "in_channels", c.in_channels, source);
  c.out_channels = cj::get_int(json, "out_channels", c.out_channels, source);
  c.block_out_channels = cj::get_int_list(json, "block_out_channels", c.block_out_channels, source);
  c.layers_per_block = cj::get_int(json, "layers_per_block", c.layers_per_block, source);
  c.latent_channels = cj::get_int(json, "latent_channels", c.latent_channels, source);
  c.norm_num_groups = cj::get_int(json, "norm_num_groups", c.norm_num_groups, source);
  c.scaling_factor = cj::get_double(json, "scaling_factor", c.scaling_factor, source);
  c.use_quant_conv = cj::get_bool(json, "use_quant_conv", c.use_quant_conv, source);
  c.use_post_quant_conv = cj::get_bool(json, "use_post_quant_conv", c.use_post_quant_conv, source);
  c.mid_block_add_attention =
      cj::get_bool(json, "mid_block_add_attention", c.mid_block_add_attention, source);
  c.force_upcast = cj::get_bool(json, "force_upcast", c.force_upcast, source);

  const size_t levels = c.block_out_channels.size();
  if (levels == 0) throw Error(source + ": block_out_channels must not be empty");
  for (const auto& [key, expected] : {std::pair{"down_block_types", "DownEncoderBlock2D"},
                                      std::pair{"up_block_types", "UpDecoderBlock2D"}}) {
    const auto types =
        cj::get_string_list(json, key, std::vector<std::string>(levels, expected), source);
    if (types.size() != levels)
      throw Error(source + ": " + key + " has " + std::to_string(types.size()) +
                  " entries but block_out_channels has " + std::to_string(levels));
    for (const auto& type : types)
      if (type != expected)
        throw Error(source + ": " + key + " entry \"" + type + "\" is not supported (expected " +
                    expected + ")");
  }
  const std::string act = cj::get_string(json, "act_fn", "silu", source);
  if (act != "silu")
    throw Error(source + ": act_fn \"" + act + "\" is not supported (expected silu)");
  const std::string norm = cj::get_string(json, "norm_type", "group", source);
  if (norm != "group")
    throw Error(source + ": norm_type \"" + norm + "\" is not supported (expected group)");

  if (c.in_channels <= 0 || c.out_channels <= 0 || c.latent_channels <= 0 ||
      c.layers_per_block <= 0 || c.norm_num_groups <= 0)
    throw Error(source +
                ": VAE channel counts, layers_per_block and norm_num_groups must be positive");
  for (int64_t ch : c.block_out_channels)
    if (ch <= 0 || ch % c.norm_num_groups != 0)
      throw Error(source + ": block_out_channels entry " + std::to_string(ch) +
                  " is not a positive multiple of norm_num_groups " +
                  std::to_string(c.norm_num_groups));
  if (!(c.scaling_factor > 0)) throw Error(source + ": scaling_factor must be positive");
  return c;
}

AutoencoderKLConfig AutoencoderKLConfig::from_file(const std::string& path) {
  return from_json(config_json::read_file(path), path);
}

int64_t AutoencoderKLConfig::downscale_factor() const {
  return int64_t{1} << (block_out_channels.size() - 1);
}

torch::Tensor LatentDistribution::sample(at::Generator& generator) const {
  const auto noise =
      torch::randn(mean.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32));
  return mean + std * noise.to(mean.device(), mean.scalar_type());  // [B, latent, h, w]
}

AutoencoderKLImpl::AutoencoderKLImpl(const AutoencoderKLConfig& config) : config_(config) {
  VaeCoderOptions enc;
  enc.in_channels = config.in_channels;
  enc.out_channels = 2 * config.latent_channels;
  enc.block_out_channels = config.block_out_channels;
  enc.layers_per_block = config.layers_per_block;
  enc.norm_num_groups = config.norm_num_groups;
  enc.mid_block_add_attention = config.mid_block_add_attention;
  VaeCoderOptions dec = enc;
  dec.in_channels = config.latent_channels;
  dec.out_channels = config.out_channels;

  encoder = register_module("encoder", VaeEncoder(enc));
  decoder = register_module("decoder", VaeDecoder(dec));
  const int64_t moments = 2 * config.latent_channels;
  if (config.use_quant_conv)
    quant_conv = register_module("quant_conv", torch::nn::Conv2d(moments, moments, 1));
  if (config.use_post_quant_conv)
    post_quant_conv = register_module(
        "post_quant_conv", torch::nn::Conv2d(config.latent_channels, config.latent_channels, 1));
}

torch::Tensor AutoencoderKLImpl::to_weights(const torch::Tensor& x, int64_t channels,
                                            const char* what) const {
  if (!x.defined() || x.dim() != 4 || x.size(1) != channels || x.size(2) < 1 || x.size(3) < 1)
    throw Error(std::string("AutoencoderKL: ") + what + " must be [batch, " +
                std::to_string(channels) + ", height, width], got " +
                (x.defined() ? shape_text(x) : "nothing"));
  const auto& weight = decoder->conv_in->weight;
  return x.to(weight.device(), weight.scalar_type());
}

LatentDistribution AutoencoderKLImpl::encode(const torch::Tensor& image) {
  return distribution(encoder(to_weights(image, config_.in_channels, "the image")));  // [B, 2·latent, h, w]
}

LatentDistribution AutoencoderKLImpl::distribution(torch::Tensor moments) {
  if (quant_conv) moments = quant_conv(moments);
  auto halves = moments.chunk(2, 1);
  LatentDistribution d;
  d.mean = halves[0];  // [B, latent, h, w]
  d.logvar = torch::clamp(halves[1], -30.0, 20.0);
  d.std = torch::exp(0.5 * d.logvar);
  return d;
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& latents) {
  auto z = to_weights(latents, config_.latent_channels, "the latents");  // [B, latent, h, w]
  if (post_quant_conv) z = post_quant_conv(z);
  return decoder(z);  // [B, 3, h·f, w·f]
}

}  // namespace latent::models
