#include "core/pipeline/text_to_image.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/image/tensor_image.h"
#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/vae_decode.h"
#include "core/schedulers/scheduler.h"
#include "core/util/cpu_allocator.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"

namespace latent::pipeline {

TextToImageParams TextToImageParams::from_request(const GenerationRequest& r) {
  TextToImageParams p;
  p.prompts = {r.prompt};
  p.negative_prompts = {r.negative_prompt};
  p.images_per_prompt = r.batch_size;
  p.width = r.width;
  p.height = r.height;
  p.steps = r.steps;
  p.guidance_scale = r.guidance_scale;
  p.seed = r.seed;
  p.sampler = r.sampler;
  p.clip_skip = r.clip_skip;
  p.eta = r.eta;
  p.prompt_syntax = PromptSyntax::Weighted;
  p.embeddings_dir = r.embeddings_dir;
  return p;
}

torch::Tensor encode_prompts(ModelBundle& model, const std::vector<std::string>& texts, int clip_skip) {
  std::vector<torch::Tensor> rows;
  for (const auto& text : texts) {
    const auto ids = model.tokenizer->encode_padded(text);
    rows.push_back(torch::tensor(ids, torch::kInt64));
  }
  const auto input_ids = torch::stack(rows).to(model.device);  // [N,77]
  return model.text_encoder->forward(input_ids, clip_skip).to(torch::kFloat32);  // [N,77,D]
}

torch::Tensor decode_latents(ModelBundle& model, const torch::Tensor& latents) {
  torch::InferenceMode inference_mode;
  // The denoising loop's cached blocks have other sizes than the decoder's: give them
  // back before the decoder's large activations arrive, and the decoder's afterwards.
  util::release_cached_cpu_memory();
  const auto scaled = (latents / model.vae->scaling_factor()).to(model.device, model.dtype);
  auto images = image::decoded_to_uint8(vae_decode(model.vae, scaled));  // in bands when large
  util::release_cached_cpu_memory();
  return images;
}

TextToImageOutput text_to_image(ModelBundle& model, const TextToImageParams& p,
                                const StepObserver& observer, const std::atomic<bool>* cancel) {
  torch::InferenceMode inference_mode;
  const CancelScope cancel_inside_steps(cancel);
  validate_params(model, p);
  auto scheduler = make_params_scheduler(model, p);
  TextToImageOutput out;
  out.prompt_embeds = prompt_embeddings(model, p);
  throw_if_cancelled(cancel);

  const int64_t batch = static_cast<int64_t>(p.prompts.size()) * p.images_per_prompt;
  const int64_t channels = model.unet->config.in_channels;
  auto generator = at::detail::createCPUGenerator(p.seed);
  const int64_t factor = model.vae->config().downscale_factor();  // 8 for SD, 4 for the starter model
  out.init_noise = at::randn({batch, channels, p.height / factor, p.width / factor}, generator);  // float32, CPU
  auto latents = (out.init_noise * scheduler->init_noise_sigma()).to(model.device);

  DenoiseSpec spec;
  spec.embeds = out.prompt_embeds;
  spec.guidance_scale = p.guidance_scale;
  out.latents = denoise(model, *scheduler, latents, spec, generator, observer, cancel, &out.timesteps);
  out.images = decode_latents(model, out.latents);
  return out;
}

}  // namespace latent::pipeline
