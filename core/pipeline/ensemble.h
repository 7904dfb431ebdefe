#pragma once

// SDXL base + refiner as diffusers' "ensemble of expert denoisers": the base
// (StableDiffusionXLPipeline with denoising_end = f, output_type="latent") denoises the
// high-noise part of the schedule, and the refiner (StableDiffusionXLImg2ImgPipeline with
// denoising_start = f, image = the base's latents) the low-noise rest, both over the same
// number of inference steps. The refiner's VAE decodes.

#include <torch/torch.h>

#include <atomic>
#include <vector>

#include "core/pipeline/conditioning.h"
#include "core/pipeline/pipeline_params.h"
#include "core/schedulers/scheduler.h"

namespace latent::pipeline {

struct ModelBundle;

// Where a fraction of the schedule falls in training timesteps, as diffusers computes
// both ends: int(round(T − f·T)), T = num_train_timesteps (Python rounds halves to even).
int switch_timestep(const schedulers::Scheduler& scheduler, double fraction);

// How many calls the base makes with denoising_end = f: those whose timestep is at or
// above the switch timestep (diffusers keeps timesteps[:n] of them).
int denoising_end_calls(const schedulers::Scheduler& scheduler, double denoising_end);

// The call the refiner starts from with denoising_start = f: it runs the n calls below
// the switch timestep, one more when a second-order scheduler's n is even (so it never
// starts between a step's two halves), and begins at num_calls() − n.
int denoising_start_call(const schedulers::Scheduler& scheduler, double denoising_start);

struct EnsembleOutput {
  Conditioning base_conditioning;     // as fed to the base's UNet ([uncond; cond] with guidance)
  Conditioning refiner_conditioning;  // and to the refiner's
  torch::Tensor init_noise;           // [B,4,h,w], the generator's first draw
  std::vector<double> base_timesteps;
  std::vector<double> refiner_timesteps;
  torch::Tensor handover_latents;  // the base's last latents, the refiner's first
  torch::Tensor latents;           // final, [B,4,h,w] float32
  torch::Tensor images;            // [B,H,W,3] uint8, decoded by the refiner's VAE
};

// Runs text to image with `base` up to `switch_at` (in (0, 1)) and `refiner` from there.
// The observer sees the two passes as one run: its index goes on from the base's calls
// into the refiner's, and its total counts both. When `cancel` turns true either pass
// stops before its next step and throws latent::Cancelled.
EnsembleOutput ensemble_text_to_image(ModelBundle& base, ModelBundle& refiner, const SamplingParams& params,
                                      double switch_at, const StepObserver& observer = {},
                                      const std::atomic<bool>* cancel = nullptr);

}  // namespace latent::pipeline
