#include "core/pipeline/ensemble.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/pipeline/decode.h"
#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/latents.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/step_cache.h"
#include "core/pipeline/text_schedule.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

int calls_where(const torch::Tensor& condition) {
  return static_cast<int>(condition.sum().item<int64_t>());
}

}  // namespace

int switch_timestep(const schedulers::Scheduler& scheduler, double fraction) {
  const double train_timesteps = scheduler.config().num_train_timesteps;
  // nearbyint rounds halves to even in the default rounding mode, as Python's round does.
  return static_cast<int>(std::nearbyint(train_timesteps - fraction * train_timesteps));
}

int denoising_end_calls(const schedulers::Scheduler& scheduler, double denoising_end) {
  // StableDiffusionXLPipeline: len(filter(lambda ts: ts >= cutoff, timesteps)).
  return calls_where(scheduler.timesteps() >= switch_timestep(scheduler, denoising_end));
}

int denoising_start_call(const schedulers::Scheduler& scheduler, double denoising_start) {
  // StableDiffusionXLImg2ImgPipeline.get_timesteps: (timesteps < cutoff).sum(), and for a
  // second-order scheduler an even count would begin between a step's two halves (every
  // timestep but the highest is there twice), so one more.
  int calls = calls_where(scheduler.timesteps() < switch_timestep(scheduler, denoising_start));
  if (scheduler.order() == 2 && calls % 2 == 0) ++calls;
  return std::max(scheduler.num_calls() - calls, 0);
}

EnsembleOutput ensemble_text_to_image(ModelBundle& base, ModelBundle& refiner, const SamplingParams& p,
                                      double switch_at, const StepObserver& observer,
                                      const std::atomic<bool>* cancel) {
  torch::InferenceMode inference_mode;
  const CancelScope cancel_inside_steps(cancel);
  // diffusers applies denoising_end / denoising_start only strictly inside (0, 1).
  if (!(switch_at > 0 && switch_at < 1))
    throw Error("the refiner's switch point " + std::to_string(switch_at) +
                " is out of range: use a fraction of the steps between 0 and 1");
  validate_params(base, p);
  validate_params(refiner, p);

  // Both pipelines set the same number of inference steps on their own schedulers; the
  // base stops where the switch falls, the refiner begins there.
  auto base_scheduler = make_params_scheduler(base, p);
  auto refiner_scheduler = make_params_scheduler(refiner, p);
  DenoiseSpec base_spec;
  base_spec.end = denoising_end_calls(*base_scheduler, switch_at);
  DenoiseSpec refiner_spec;
  refiner_spec.begin = denoising_start_call(*refiner_scheduler, switch_at);
  refiner_scheduler->set_begin_index(refiner_spec.begin);
  const int base_calls = base_spec.end;
  base_spec.predict = step_cached_predictor(base, p.step_cache, base_calls);
  refiner_spec.predict =
      step_cached_predictor(refiner, p.step_cache, refiner_scheduler->num_calls() - refiner_spec.begin);
  const int total = base_calls + (refiner_scheduler->num_calls() - refiner_spec.begin);

  EnsembleOutput out;
  // The base: StableDiffusionXLPipeline(..., denoising_end=f, output_type="latent"), the
  // text-to-image draw order (the noise first, then whatever the sampler draws).
  set_text_conditioning(base_spec, encode_text_schedule(base, p, {base_scheduler->num_calls()}));
  out.base_conditioning = base_spec.conditioning.batched();
  throw_if_cancelled(cancel);
  auto base_generator = at::detail::createCPUGenerator(p.seed);
  const auto start = noise_latents(base, p, *base_scheduler, base_generator);
  out.init_noise = start.noise;
  out.handover_latents = denoise(base, *base_scheduler, start.latents, base_spec, base_generator,
                                 pass_observer(observer, 0, total), cancel, &out.base_timesteps);

  // The refiner: StableDiffusionXLImg2ImgPipeline(..., image=latents, denoising_start=f),
  // conditioned with its own text encoder and the aesthetic-score time ids. A 4-channel
  // image is taken as latents as it is (no VAE, no scaling) and, denoising_start being
  // given, no noise is added: preparing its latents draws nothing.
  // The refiner goes on counting the steps where the base stopped, as the web UI's does.
  set_text_conditioning(refiner_spec, encode_text_schedule(refiner, p, {refiner_scheduler->num_calls()},
                                                           TimeIdsLayout::image_to_image));
  out.refiner_conditioning = refiner_spec.conditioning.batched();
  throw_if_cancelled(cancel);
  // Its own generator, seeded as the base's (each pipeline is given
  // torch.Generator().manual_seed(seed)): only ancestral and SDE samplers draw from it.
  auto refiner_generator = at::detail::createCPUGenerator(p.seed);
  out.latents = denoise(refiner, *refiner_scheduler, out.handover_latents.to(refiner.device), refiner_spec,
                        refiner_generator, pass_observer(observer, base_calls, total), cancel,
                        &out.refiner_timesteps);
  out.images = decode_latents(refiner, out.latents);
  return out;
}

}  // namespace latent::pipeline
