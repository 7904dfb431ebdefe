#pragma once

// The prepare-latents stage: where the denoise loop starts. Pure seeded noise for text
// to image; a picture's VAE latents for image to image (image_to_image.cpp noises them
// to the starting timestep).

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <cstdint>

#include "core/pipeline/pipeline_params.h"
#include "core/schedulers/scheduler.h"

namespace latent::pipeline {

struct ModelBundle;

// Pixels per latent cell along each side (8 for SD, 4 for the starter model).
int64_t latent_factor(const ModelBundle& model);

struct NoiseLatents {
  torch::Tensor noise;    // [B,C,h,w] float32 on the CPU: the generator's first draw
  torch::Tensor latents;  // noise × init_noise_sigma on the model's device
};

// The generator's draw for a text-to-image run, as diffusers' prepare_latents: drawn on
// the CPU so a seed means the same on every device, scaled by the scheduler's
// init_noise_sigma.
NoiseLatents noise_latents(const ModelBundle& model, const SamplingParams& params,
                           const schedulers::Scheduler& scheduler, at::Generator& generator);

// scaling_factor · (mean + std·ε), ε the generator's next draw: a picture ([1,3,H,W] in
// [-1,1]) as latents in float32, as diffusers' retrieve_latents(..., sample_mode="sample").
// With the bundle's tiny_vae set, its latents times its scaling factor, with no draw.
torch::Tensor encode_image_latents(ModelBundle& model, const torch::Tensor& image, at::Generator& generator);

}  // namespace latent::pipeline
