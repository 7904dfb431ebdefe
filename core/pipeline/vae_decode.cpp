#include "core/pipeline/vae_decode.h"

#include <algorithm>
#include <functional>

#include "core/pipeline/banded_layers.h"
#include "core/util/cpu_allocator.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

bool is_float32(torch::ScalarType dtype) {
  return dtype == torch::kFloat32 || dtype == torch::kFloat64;
}

// The widest activation at full resolution: the last upsampler's channels.
int64_t widest_full_resolution_channels(const models::AutoencoderKLConfig& config) {
  const auto& blocks = config.block_out_channels;
  return blocks.size() > 1 ? std::max(blocks[0], blocks[1]) : blocks[0];
}

}  // namespace

int64_t estimate_vae_decode_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                  int64_t latent_height, int64_t latent_width,
                                  torch::ScalarType dtype) {
  const int64_t f = config.downscale_factor();
  const int64_t pixels = batch * latent_height * f * latent_width * f;
  const int64_t channels = widest_full_resolution_channels(config);
  const int64_t e = static_cast<int64_t>(c10::elementSize(dtype));
  // Measured: the widest full-resolution step holds the block input, the upsampled tensor
  // and the norm's float32 input and output at once.
  const int64_t per_channel = 3 * e + (is_float32(dtype) ? 0 : 8);
  return pixels * channels * per_channel;
}

int64_t estimate_vae_banded_decode_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                         int64_t latent_height, int64_t latent_width,
                                         torch::ScalarType dtype, const VaeDecodeOptions& options) {
  const int64_t f = config.downscale_factor();
  const int64_t pixels = batch * latent_height * f * latent_width * f;
  const int64_t e = static_cast<int64_t>(c10::elementSize(dtype));
  // The last up block's first resnet: its wide input, the middle and the output at once.
  const int64_t wide = widest_full_resolution_channels(config);
  const int64_t narrow = config.block_out_channels.front();
  return pixels * (wide + 2 * narrow) * e + options.band_bytes;
}

int64_t estimate_vae_decode_peak_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                       int64_t latent_height, int64_t latent_width,
                                       torch::ScalarType dtype, const VaeDecodeOptions& options) {
  const int64_t whole = estimate_vae_decode_bytes(config, batch, latent_height, latent_width, dtype);
  if (whole <= options.budget_bytes) return whole;
  const int64_t banded = estimate_vae_banded_decode_bytes(config, batch, latent_height, latent_width, dtype, options);
  return options.bands_only_when_smaller ? std::min(whole, banded) : banded;
}

bool vae_decode_needs_bands(const models::AutoencoderKLConfig& config, torch::IntArrayRef sizes,
                            torch::ScalarType dtype, const VaeDecodeOptions& options) {
  if (sizes.size() != 4) return false;
  const int64_t whole = estimate_vae_decode_bytes(config, sizes[0], sizes[2], sizes[3], dtype);
  if (whole <= options.budget_bytes) return false;
  return !options.bands_only_when_smaller ||
         estimate_vae_banded_decode_bytes(config, sizes[0], sizes[2], sizes[3], dtype, options) < whole;
}

torch::Tensor vae_decode(models::AutoencoderKL& vae, const torch::Tensor& latents,
                         const VaeDecodeOptions& options) {
  const auto dtype = vae->decoder->conv_in->weight.scalar_type();
  if (!vae_decode_needs_bands(vae->config(), latents.sizes(), dtype, options)) {
    // A whole decode's tensors grow level by level, so few freed blocks fit a later
    // request: a small cache keeps the reuse within a level and lowers the peak (512×512:
    // 0.18 GiB less in bf16, 0.13 GiB in fp32). A banded decode keeps the usual cache: its
    // bands reuse blocks of one size, and without them it ran 1.7 times slower.
    const util::CpuCacheLimit small_cache(128ll << 20);
    return vae->decode(latents).to(torch::kFloat32);  // [B, 3, H, W]
  }
  return vae_decode_in_bands(vae, latents, options.band_bytes);
}

torch::Tensor vae_decode_in_bands(models::AutoencoderKL& vae, const torch::Tensor& latents,
                                  int64_t band_bytes) {
  if (latents.dim() != 4 || latents.size(1) != vae->config().latent_channels)
    throw Error("VAE decode: latents must be [batch, " +
                std::to_string(vae->config().latent_channels) + ", height, width]");
  auto& decoder = *vae->decoder;
  const auto& weight = decoder.conv_in->weight;
  auto z = latents.to(weight.device(), weight.scalar_type());  // [B, latent, h, w]
  if (vae->post_quant_conv) z = vae->post_quant_conv(z);
  // The low-resolution half (conv_in, the mid block with its attention over all
  // positions) is small: it runs whole.
  auto h = decoder.mid_block(decoder.conv_in(z));  // [B, C, h, w]

  const BandedLayers layers(band_bytes);
  for (size_t i = 0; i < decoder.up_blocks->size(); ++i)
    h = layers.up_block(*decoder.up_blocks[i]->as<models::UpDecoderBlock2D>(), std::move(h));
  const auto image = layers.conv3x3(decoder.conv_out, layers.normalised(decoder.conv_norm_out, h),
                                    h.size(0), h.size(1), h.size(2), h.size(3),
                                    layout_of(h).dtype(torch::kFloat32));
  return image;  // [B, 3, H, W]
}

}  // namespace latent::pipeline
