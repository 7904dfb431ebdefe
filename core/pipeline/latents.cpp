#include "core/pipeline/latents.h"

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/vae_encode.h"

namespace latent::pipeline {

int64_t latent_factor(const ModelBundle& model) { return model.vae->config().downscale_factor(); }

NoiseLatents noise_latents(const ModelBundle& model, const SamplingParams& p,
                           const schedulers::Scheduler& scheduler, at::Generator& generator) {
  const int64_t channels = model.unet->config.in_channels;
  const int64_t factor = latent_factor(model);
  NoiseLatents out;
  out.noise = at::randn({p.batch(), channels, p.height / factor, p.width / factor}, generator);  // float32, CPU
  out.latents = (out.noise * scheduler.init_noise_sigma()).to(model.device);
  return out;
}

torch::Tensor encode_image_latents(ModelBundle& model, const torch::Tensor& image, at::Generator& generator) {
  // A tiny autoencoder gives latents, not a distribution: nothing is drawn (diffusers'
  // retrieve_latents takes its .latents).
  if (!model.tiny_vae.is_empty())
    return model.tiny_vae->encode(image).to(torch::kFloat32) * model.tiny_vae->scaling_factor();
  // In the VAE's own precision: fp32 where an SDXL model's VAE is upcast (force_upcast,
  // diffusers' prepare_latents: image.float() and the VAE moved to fp32).
  // Band by band above the memory budget (vae_encode.h), with the same result.
  const auto dist = vae_encode(model.vae, image.to(model.device, model.vae_dtype()));
  return dist.sample(generator).to(torch::kFloat32) * model.vae->scaling_factor();
}

}  // namespace latent::pipeline
