#include "core/pipeline/decode.h"

#include <optional>

#include "core/image/tensor_image.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/vae_decode.h"
#include "core/util/cpu_allocator.h"

namespace latent::pipeline {

torch::Tensor decode_latents_tiny(models::AutoencoderTiny vae, const torch::Tensor& latents) {  // a shared handle
  torch::InferenceMode inference_mode;
  const auto decoded = vae->decode(latents / vae->scaling_factor());
  return image::decoded_to_uint8(decoded.to(torch::kFloat32));
}

torch::Tensor decode_preview_tiny(models::AutoencoderTiny vae, const torch::Tensor& latents, int height, int width) {
  if (latents.size(2) == height && latents.size(3) == width) return decode_latents_tiny(vae, latents);
  torch::InferenceMode inference_mode;
  namespace F = torch::nn::functional;
  const auto smaller = F::interpolate(
      latents, F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width}).mode(torch::kArea));
  return decode_latents_tiny(vae, smaller);
}

torch::Tensor decode_latents(ModelBundle& model, const torch::Tensor& latents) {
  torch::InferenceMode inference_mode;
  // The denoising loop's cached blocks have other sizes than the decoder's: give them
  // back before the decoder's large activations arrive, and the decoder's afterwards.
  util::release_cached_cpu_memory();
  if (!model.tiny_vae.is_empty()) return decode_latents_tiny(model.tiny_vae, latents);
  // In the VAE's own precision: fp32 where an SDXL model's VAE is upcast (force_upcast).
  const auto scaled = (latents / model.vae->scaling_factor()).to(model.device, model.vae_dtype());
  const VaeDecodeOptions options = model.low_memory ? VaeDecodeOptions::low_memory() : VaeDecodeOptions();
  // Low-memory mode keeps only a band's worth of freed blocks: slower, but the decode's peak
  // is then its bands' rather than the cache's.
  std::optional<util::CpuCacheLimit> band_cache;
  if (model.low_memory) band_cache.emplace(2 * options.band_bytes);
  auto images = image::decoded_to_uint8(vae_decode(model.vae, scaled, options));
  util::release_cached_cpu_memory();
  return images;
}

}  // namespace latent::pipeline
