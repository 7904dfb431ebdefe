#include "core/pipeline/vae_encode.h"

#include "core/models/norms.h"
#include "core/pipeline/banded_layers.h"
#include "core/util/error.h"

namespace latent::pipeline {

int64_t estimate_vae_encode_bytes(const models::AutoencoderKLConfig& config, int64_t batch, int64_t height,
                                  int64_t width, torch::ScalarType dtype) {
  const int64_t e = static_cast<int64_t>(c10::elementSize(dtype));
  // The encoder's first level holds about four full-size activations at once (input,
  // normalised copy, convolution output, residual).
  return batch * height * width * config.block_out_channels.front() * 4 * e;
}

int64_t estimate_vae_banded_encode_bytes(const models::AutoencoderKLConfig& config, int64_t batch, int64_t height,
                                         int64_t width, torch::ScalarType dtype, const VaeDecodeOptions& options) {
  const int64_t e = static_cast<int64_t>(c10::elementSize(dtype));
  // A first-level resnet: its input, middle and output whole.
  return batch * height * width * config.block_out_channels.front() * 3 * e + options.band_bytes;
}

bool vae_encode_needs_bands(const models::AutoencoderKLConfig& config, torch::IntArrayRef sizes,
                            torch::ScalarType dtype, const VaeDecodeOptions& options) {
  if (sizes.size() != 4) return false;
  return estimate_vae_encode_bytes(config, sizes[0], sizes[2], sizes[3], dtype) > options.budget_bytes;
}

models::LatentDistribution vae_encode(models::AutoencoderKL& vae, const torch::Tensor& image,
                                      const VaeDecodeOptions& options) {
  const auto dtype = vae->encoder->conv_in->weight.scalar_type();
  if (!vae_encode_needs_bands(vae->config(), image.sizes(), dtype, options)) return vae->encode(image);
  return vae_encode_in_bands(vae, image, options.band_bytes);
}

models::LatentDistribution vae_encode_in_bands(models::AutoencoderKL& vae, const torch::Tensor& image,
                                               int64_t band_bytes) {
  if (image.dim() != 4 || image.size(1) != vae->config().in_channels)
    throw Error("VAE encode: the picture must be [batch, " + std::to_string(vae->config().in_channels) +
                ", height, width]");
  auto& encoder = *vae->encoder;
  const auto& weight = encoder.conv_in->weight;
  const auto x = image.to(weight.device(), weight.scalar_type());
  const BandedLayers layers(band_bytes);
  auto h = layers.conv3x3(encoder.conv_in, rows_of(x), x.size(0), x.size(1), x.size(2), x.size(3), layout_of(x));
  for (size_t i = 0; i < encoder.down_blocks->size(); ++i)
    h = layers.down_block(*encoder.down_blocks[i]->as<models::DownEncoderBlock2D>(), std::move(h));
  // The low-resolution end (the mid block with its attention over all positions, the
  // output norm and convolution) is small: it runs whole, as in VaeEncoder::forward.
  h = encoder.mid_block(h);
  auto moments = encoder.conv_out(models::group_norm_silu(encoder.conv_norm_out, h));
  return vae->distribution(moments);
}

}  // namespace latent::pipeline
