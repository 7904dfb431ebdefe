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

// How one call runs the UNet: all of it; all of it, handing back the deep features in
// `deep`; or the shallow path on the `deep` features an earlier call kept (step_cache.h).
enum class UNetPass { full, full_keeping_deep, shallow };

// One call of the bundle's UNet as unet_noise_predictor makes it, in the pass asked for.
torch::Tensor run_unet(ModelBundle& model, const torch::Tensor& latents, const torch::Tensor& timestep,
                       const Conditioning& conditioning, UNetPass pass = UNetPass::full,
                       torch::Tensor* deep = nullptr);

// Classifier-free guidance, in one place: with guidance on, one model call over [x; x]
// with the batched [uncond; cond] conditioning, combined as `guidance` says; with
// guidance off (scale ≤ 1, where diffusers turns it off) one call over x with cond
// alone, half the work. `batched` is conditioning.batched() in the model's dtype.
// With a `composition` (AND, prompt_composition.h) the call is over [x; x per term] and
// each image's prediction is the web UI's uncond + Σ wᵢ·scale·(condᵢ − uncond), its
// "conditional" prediction (for the rescale) uncond + Σ wᵢ·(condᵢ − uncond); without
// guidance the image's first term stands in for uncond with scale 1, as the web UI does
// when it skips the unconditional half.
torch::Tensor guided_prediction(const NoisePredictor& predict, const torch::Tensor& latents,
                                const torch::Tensor& timestep, const Conditioning& batched,
                                const Guidance& guidance, bool guided,
                                const Composition& composition = {});

}  // namespace latent::pipeline
