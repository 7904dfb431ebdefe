#include "core/pipeline/denoise_loop.h"

#include <algorithm>

#include "core/pipeline/model_bundle.h"
#include "core/util/cancellation.h"

namespace latent::pipeline {

std::unique_ptr<schedulers::Scheduler> make_params_scheduler(const ModelBundle& model,
                                                             const SamplingParams& p) {
  auto config = schedulers::SchedulerConfig::from_json(model.scheduler_config);
  config.eta = p.eta;
  if (!p.timestep_spacing.empty()) config.timestep_spacing = p.timestep_spacing;
  if (p.zero_snr) config.rescale_betas_zero_snr = true;
  if (p.lcm_original_steps > 0) config.original_inference_steps = p.lcm_original_steps;
  config.gamma = p.tcd_gamma;
  config.noise_sampler_seed = p.seed;  // DPM++ SDE's Brownian tree, seeded as the noise is
  auto scheduler = schedulers::make_scheduler(p.sampler, config);
  scheduler->set_timesteps(p.steps);
  return scheduler;
}

void set_text_conditioning(DenoiseSpec& spec, ConditioningSchedule schedule) {
  spec.conditioning = schedule.at_call(spec.begin);
  spec.schedule = schedule.changes() ? std::move(schedule) : ConditioningSchedule{};
}

torch::Tensor denoise(ModelBundle& model, schedulers::Scheduler& scheduler, torch::Tensor latents,
                      const DenoiseSpec& spec, at::Generator& generator, const StepObserver& observer,
                      const std::atomic<bool>* cancel, std::vector<double>* timesteps_run) {
  const bool guided = spec.conditioning.guided();
  // Converted to the model's dtype once, not at every call.
  const Conditioning conditioning = spec.conditioning.batched().to(model.device, model.dtype);
  // Prompt editing and alternation: each phase converted once, then picked call by call.
  std::vector<Conditioning> phases;
  if (spec.schedule.changes())
    for (const auto& phase : spec.schedule.phases) phases.push_back(phase.batched().to(model.device, model.dtype));
  const NoisePredictor predict = spec.predict ? spec.predict : unet_noise_predictor(model);
  const auto timesteps = scheduler.timesteps();
  const int calls = spec.end < 0 ? scheduler.num_calls() : std::min(spec.end, scheduler.num_calls());
  const int total = calls - spec.begin;
  for (int i = spec.begin; i < calls; ++i) {
    throw_if_cancelled(cancel);
    const auto t = timesteps[i];
    const auto model_input = scheduler.scale_model_input(latents, i);
    const int phase = phases.empty() ? -1 : spec.schedule.phase_at_call(i);
    const GuidedConditioning& text = phase < 0 ? spec.conditioning : spec.schedule.phases[static_cast<std::size_t>(phase)];
    const Conditioning& batched = phase < 0 ? conditioning : phases[static_cast<std::size_t>(phase)];
    const auto noise_pred =
        guided_prediction(predict, model_input, t, batched, text.guidance, guided, text.composition);
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
