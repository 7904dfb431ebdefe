#include "core/pipeline/text_to_image.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/image/tensor_image.h"
#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/request_validation.h"
#include "core/pipeline/vae_decode.h"
#include "core/schedulers/scheduler.h"
#include "core/util/cpu_allocator.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

void check_cancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
}

// diffusers repeats each prompt's embedding for its images: [p0, p0, p1, p1].
torch::Tensor repeat_per_prompt(const torch::Tensor& embeds, int images_per_prompt) {
  return embeds.repeat_interleave(images_per_prompt, 0);
}

}  // namespace

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
  auto images = image::decoded_to_uint8(vae_decode(model.vae, scaled));  // tiles when large
  util::release_cached_cpu_memory();
  return images;
}

TextToImageOutput text_to_image(ModelBundle& model, const TextToImageParams& p,
                                const StepObserver& observer, const std::atomic<bool>* cancel) {
  torch::InferenceMode inference_mode;
  GenerationRequest shape_check;
  shape_check.width = p.width;
  shape_check.height = p.height;
  shape_check.steps = p.steps;
  shape_check.guidance_scale = p.guidance_scale;
  shape_check.batch_size = p.images_per_prompt;
  shape_check.clip_skip = p.clip_skip;
  shape_check.eta = p.eta;
  validate_request(shape_check);
  if (p.prompts.empty()) throw Error("no prompt given");
  if (!p.negative_prompts.empty() && p.negative_prompts.size() != p.prompts.size())
    throw Error("give one negative prompt per prompt (" + std::to_string(p.prompts.size()) +
                " prompts, " + std::to_string(p.negative_prompts.size()) + " negative prompts)");
  const int layers = static_cast<int>(model.text_encoder->config().num_hidden_layers);
  if (p.clip_skip >= layers)
    throw Error("clip skip " + std::to_string(p.clip_skip) + " is too deep: the text encoder has " +
                std::to_string(layers) + " layers");

  auto config = schedulers::SchedulerConfig::from_json(model.scheduler_config);
  config.eta = p.eta;
  config.noise_sampler_seed = p.seed;  // DPM++ SDE's Brownian tree, seeded as the noise is
  auto scheduler = schedulers::make_scheduler(p.sampler, config);
  scheduler->set_timesteps(p.steps);

  TextToImageOutput out;
  const bool guided = p.guidance_scale > 1.0;
  // diffusers encodes the negative prompt without clip skip.
  std::vector<std::string> negatives = p.negative_prompts;
  negatives.resize(p.prompts.size());
  torch::Tensor cond, uncond;
  if (p.prompt_syntax == PromptSyntax::Weighted) {
    WeightedPromptOptions options;
    options.clip_skip = p.clip_skip;
    options.embeddings_dir = p.embeddings_dir;
    auto weighted = encode_weighted_prompts(model, p.prompts, guided ? &negatives : nullptr, options);
    cond = weighted.cond;
    uncond = weighted.uncond;
  } else {
    cond = encode_prompts(model, p.prompts, p.clip_skip);
    if (guided) uncond = encode_prompts(model, negatives, 0);
  }
  cond = repeat_per_prompt(cond, p.images_per_prompt);
  out.prompt_embeds = guided ? torch::cat({repeat_per_prompt(uncond, p.images_per_prompt), cond}) : cond;
  check_cancel(cancel);

  const int64_t batch = static_cast<int64_t>(p.prompts.size()) * p.images_per_prompt;
  const int64_t channels = model.unet->config.in_channels;
  auto generator = at::detail::createCPUGenerator(p.seed);
  out.init_noise = at::randn({batch, channels, p.height / 8, p.width / 8}, generator);  // float32, CPU
  auto latents = (out.init_noise * scheduler->init_noise_sigma()).to(model.device);

  DenoiseSpec spec;
  spec.embeds = out.prompt_embeds;
  spec.guidance_scale = p.guidance_scale;
  out.latents = denoise(model, *scheduler, latents, spec, generator, observer, cancel, &out.timesteps);
  out.images = decode_latents(model, out.latents);
  return out;
}

}  // namespace latent::pipeline
