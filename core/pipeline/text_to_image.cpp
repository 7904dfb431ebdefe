#include "core/pipeline/text_to_image.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/pipeline/decode.h"
#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/latents.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_conditioning.h"
#include "core/util/cancellation.h"

namespace latent::pipeline {

TextToImageOutput text_to_image(ModelBundle& model, const TextToImageParams& p,
                                const StepObserver& observer, const std::atomic<bool>* cancel) {
  torch::InferenceMode inference_mode;
  const CancelScope cancel_inside_steps(cancel);
  validate_params(model, p);
  auto scheduler = make_params_scheduler(model, p);

  DenoiseSpec spec;
  spec.conditioning = encode_text_conditioning(model, p);
  if (p.control.any()) {
    check_control(p.control, p.width, p.height);
    spec.predict = controlled_predictor(unet_noise_predictor(model), p.control, spec.conditioning.guided(),
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
