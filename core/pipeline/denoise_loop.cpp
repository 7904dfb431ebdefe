#include "core/pipeline/denoise_loop.h"

#include "core/pipeline/request_validation.h"
#include "core/util/error.h"

namespace latent::pipeline {

void validate_params(const ModelBundle& model, const TextToImageParams& p) {
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
}

torch::Tensor prompt_embeddings(ModelBundle& model, const TextToImageParams& p) {
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
  // Each prompt repeated for its images: [p0, p0, p1, p1].
  cond = cond.repeat_interleave(p.images_per_prompt, 0);
  if (!guided) return cond;
  return torch::cat({uncond.repeat_interleave(p.images_per_prompt, 0), cond});
}

std::unique_ptr<schedulers::Scheduler> make_params_scheduler(const ModelBundle& model,
                                                             const TextToImageParams& p) {
  auto config = schedulers::SchedulerConfig::from_json(model.scheduler_config);
  config.eta = p.eta;
  config.noise_sampler_seed = p.seed;  // DPM++ SDE's Brownian tree, seeded as the noise is
  auto scheduler = schedulers::make_scheduler(p.sampler, config);
  scheduler->set_timesteps(p.steps);
  return scheduler;
}

torch::Tensor denoise(ModelBundle& model, schedulers::Scheduler& scheduler, torch::Tensor latents,
                      const DenoiseSpec& spec, at::Generator& generator, const StepObserver& observer,
                      const std::atomic<bool>* cancel, std::vector<double>* timesteps_run) {
  const bool guided = spec.guidance_scale > 1.0;
  const auto embeds = spec.embeds.to(model.dtype);
  const auto extra = spec.extra_channels.defined() ? spec.extra_channels.to(model.device) : torch::Tensor();
  const auto timesteps = scheduler.timesteps();
  const int calls = scheduler.num_calls();
  const int total = calls - spec.begin;
  for (int i = spec.begin; i < calls; ++i) {
    throw_if_cancelled(cancel);
    const auto t = timesteps[i];
    auto model_input = guided ? torch::cat({latents, latents}) : latents;
    model_input = scheduler.scale_model_input(model_input, i);
    if (extra.defined()) model_input = torch::cat({model_input, extra}, 1);  // [(2)B, 4+C, h, w]
    auto noise_pred = model.unet->forward(model_input.to(model.dtype), t.to(model.device), embeds)
                          .to(torch::kFloat32);
    if (guided) {
      const auto halves = noise_pred.chunk(2);
      noise_pred = halves[0] + spec.guidance_scale * (halves[1] - halves[0]);
    }
    auto step = scheduler.step(noise_pred, i, latents, generator);
    latents = step.prev_sample;
    if (spec.after_step) latents = spec.after_step(i, latents);
    const double timestep = t.item<double>();
    if (timesteps_run) timesteps_run->push_back(timestep);
    if (observer) {
      StepState state;
      state.index = i - spec.begin;
      state.total = total;
      state.timestep = timestep;
      state.latents = latents;
      state.denoised = spec.preview ? spec.preview(step.pred_original_sample) : step.pred_original_sample;
      observer(state);
    }
  }
  throw_if_cancelled(cancel);
  return latents;
}

}  // namespace latent::pipeline
