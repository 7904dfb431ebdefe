#pragma once

// The step cache ("Faster, approximate"): DeepCache (Ma et al. 2023, "DeepCache: Accelerating
// Diffusion Models for Free") for the denoise loop. A UNet's deep features change little from
// one step to the next while its shallow layers follow the latents closely, so a full call
// keeps the deep part's result and the next calls run only the shallow path on it
// (UNet2DConditionModelImpl::forward_shallow, split where models::default_deep_cut says). With an interval of N, calls 0, N, 2N, ... run
// the whole UNet and the N − 1 calls after each reuse its features; the first and the last
// call always run in full. The guided batch [uncond; cond] keeps one set of features for both
// halves, as one call computes them.
//
// It is a NoisePredictor like the plain UNet's, so ControlNet guidance wraps it unchanged:
// the residuals of the skips the shallow path makes are added at every call; those of the
// deep skips reach the output through the features of the last full call.

#include <memory>
#include <vector>

#include "core/pipeline/noise_predictor.h"

namespace latent::pipeline {

struct ModelBundle;

// Whether call `call` of `calls` runs the whole UNet for an interval of `interval` (≤ 1:
// every call does).
bool step_cache_runs_full(int call, int calls, int interval);

// The passes a cached predictor made, in call order (for tests and the benchmark).
using StepCacheLog = std::vector<UNetPass>;

// The bundle's UNet through the step cache, for a denoise run of `calls` model calls
// counted from the first the predictor answers (image to image: the calls left after
// strength). With `interval` ≤ 1 this is unet_noise_predictor. `log`, when given, hears
// every call's pass. A call past `calls` throws latent::Error.
NoisePredictor step_cached_predictor(ModelBundle& model, int interval, int calls,
                                     std::shared_ptr<StepCacheLog> log = nullptr);

}  // namespace latent::pipeline
