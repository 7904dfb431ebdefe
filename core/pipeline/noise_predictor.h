#pragma once

// The model call of the denoising loop as a replaceable hook. The loop only asks "what
// does the model predict for these latents at this timestep under this conditioning";
// the default answer is the bundle's UNet, and a stage that needs more (a ControlNet
// computing residuals first, a refiner's UNet) wraps or replaces the hook without
// touching the loop.

#include <torch/torch.h>

#include <functional>

#include "core/pipeline/conditioning.h"

namespace latent::pipeline {

struct ModelBundle;

// latents [N, C, h, w] already scaled by the scheduler (float32), timestep 0-dim, and a
// conditioning of batch N in the model's dtype → the prediction [N, C, h, w] in float32.
using NoisePredictor = std::function<torch::Tensor(const torch::Tensor& latents, const torch::Tensor& timestep,
                                                   const Conditioning& conditioning)>;

// The bundle's UNet: extra channels concatenated to the latents, residuals added to its
// skips, the pooled embedding and time ids fed to its added embedding (SDXL; a UNet
// without one refuses them, as one with it refuses a call without them).
NoisePredictor unet_noise_predictor(ModelBundle& model);

// Classifier-free guidance, in one place: with guidance on, one model call over [x; x]
// with the batched [uncond; cond] conditioning, combined as `guidance` says; with
// guidance off (scale ≤ 1, where diffusers turns it off) one call over x with cond
// alone, half the work. `batched` is conditioning.batched() in the model's dtype.
torch::Tensor guided_prediction(const NoisePredictor& predict, const torch::Tensor& latents,
                                const torch::Tensor& timestep, const Conditioning& batched,
                                const Guidance& guidance, bool guided);

}  // namespace latent::pipeline
