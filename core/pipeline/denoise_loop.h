#pragma once

// The pieces every Stable Diffusion pipeline shares, as diffusers' pipelines do:
// prompt embeddings with classifier-free guidance, and the denoising loop over the
// scheduler's calls with the observer and the cancel token. Text to image runs the
// loop from call 0; image to image starts where `strength` puts it, inpainting adds
// the UNet's extra input channels or blends the known region after each step.

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <vector>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_to_image.h"
#include "core/schedulers/scheduler.h"
#include "core/util/cancellation.h"

namespace latent::pipeline {

// The checks every pipeline makes before work starts (sizes, counts, prompts, clip
// skip depth); throws latent::Error naming the value.
void validate_params(const ModelBundle& model, const TextToImageParams& params);

// [uncond; cond] embeddings ([2B,77·k,D]) with guidance, [B,77·k,D] without, float32 on
// the model's device, read with the params' prompt syntax; each prompt repeated for its
// images ([p0, p0, p1, p1]). The same as text_to_image computes.
torch::Tensor prompt_embeddings(ModelBundle& model, const TextToImageParams& params);

// The scheduler for the params, its timesteps set (DPM++ SDE's noise seeded by the seed).
std::unique_ptr<schedulers::Scheduler> make_params_scheduler(const ModelBundle& model,
                                                             const TextToImageParams& params);

struct DenoiseSpec {
  torch::Tensor embeds;       // from prompt_embeddings
  double guidance_scale = 7.5;
  int begin = 0;              // first scheduler call
  // Concatenated to the scaled UNet input along channels (inpainting UNets), already
  // duplicated for guidance: [(2)B, C, h, w].
  torch::Tensor extra_channels;
  // Called after each scheduler step with the call index; returns the latents to go on with.
  std::function<torch::Tensor(int call, const torch::Tensor& latents)> after_step;
  // Turns the scheduler's predicted clean latents into what the observer sees.
  std::function<torch::Tensor(const torch::Tensor& denoised)> preview;
};

// Runs calls spec.begin .. num_calls()−1 from `latents` ([B,4,h,w] float32 on the
// model's device) and returns the final latents. The observer sees the loop's own
// step count (index from 0, total = calls run). `timesteps_run`, when given, receives
// each call's timestep.
torch::Tensor denoise(ModelBundle& model, schedulers::Scheduler& scheduler, torch::Tensor latents,
                      const DenoiseSpec& spec, at::Generator& generator, const StepObserver& observer,
                      const std::atomic<bool>* cancel, std::vector<double>* timesteps_run = nullptr);

}  // namespace latent::pipeline
