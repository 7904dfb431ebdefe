#pragma once

// The Stable Diffusion text-to-image pipeline, step for step as diffusers'
// StableDiffusionPipeline, composed of the shared stages: encode the prompts'
// conditioning, draw seeded noise, denoise over the scheduler's timesteps with
// classifier-free guidance, decode with the VAE.

#include <torch/torch.h>

#include <atomic>
#include <vector>

#include "core/pipeline/pipeline_params.h"

namespace latent::pipeline {

struct ModelBundle;

using TextToImageParams = SamplingParams;

struct TextToImageOutput {
  torch::Tensor prompt_embeds;  // [(2)B,77·k,D] as fed to the UNet ([uncond; cond] with guidance)
  torch::Tensor init_noise;     // [B,4,h,w], the generator's first draw
  std::vector<double> timesteps;
  torch::Tensor latents;        // final, [B,4,h,w] float32
  torch::Tensor images;         // [B,H,W,3] uint8
};

// Runs the whole pipeline. The observer is called after each step; when `cancel` turns
// true the loop stops before the next step and throws latent::Cancelled.
TextToImageOutput text_to_image(ModelBundle& model, const TextToImageParams& params,
                                const StepObserver& observer = {},
                                const std::atomic<bool>* cancel = nullptr);

}  // namespace latent::pipeline
