#include "core/pipeline/text_to_image.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/pipeline/decode.h"
#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/latents.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/step_cache.h"
#include "core/pipeline/text_schedule.h"
#include "core/util/cancellation.h"

namespace latent::pipeline {

TextToImageOutput text_to_image(ModelBundle& model, const TextToImageParams& p,
                                const StepObserver& observer, const std::atomic<bool>* cancel) {
  torch::InferenceMode inference_mode;
  const CancelScope cancel_inside_steps(cancel);
  validate_params(model, p);
  auto scheduler = make_params_scheduler(model, p);

  DenoiseSpec spec;
  set_text_conditioning(spec, encode_text_schedule(model, p, {scheduler->num_calls()}));
  spec.predict = step_cached_predictor(model, p.step_cache, scheduler->num_calls());
  if (p.control.any()) {
    check_control(p.control, p.width, p.height);
    spec.predict = controlled_predictor(spec.predict, p.control, spec.conditioning.guided(),
                                        p.batch(), scheduler->num_calls());
  }
  throw_if_cancelled(cancel);

  auto generator = at::detail::createCPUGenerator(p.seed);
  const auto start = noise_latents(model, p, *scheduler, generator);

  TextToImageOutput out;
  out.prompt_embeds = spec.conditioning.batched().context;
  out.init_noise = start.noise;
  out.latents = denoise(model, *scheduler, start.latents, spec, generator, observer, cancel, &out.timesteps);
  out.images = decode_latents(model, out.latents);
  return out;
}

}  // namespace latent::pipeline
