#pragma once

// The "Fast" preset (the GUI's button, `generate --preset fast`): the sampler, step count
// and guidance a few-step run takes with a model. Free of LibTorch.

#include <string>

namespace latent::pipeline {

struct FastPreset {
  std::string sampler = "lcm";
  int steps = 4;
  double guidance_scale = 1.0;
  std::string reason;  // one line for the status bar: why these settings
};

// The sampler a model's scheduler config names when it is one of the few-step samplers
// ("lcm" for LCMScheduler, "tcd" for TCDScheduler), which such a model needs; empty for
// every other scheduler class (the request's sampler is used).
std::string own_sampler_of(const std::string& scheduler_class);

// The preset for a model whose scheduler config has `scheduler_class` and whose UNet takes
// the guidance as an embedding (an LCM-distilled UNet: time_cond_proj_dim) or not.
// LCM-LoRA style models: LCM, 4 steps, guidance 1 (no unconditional half). LCM-distilled
// UNets: LCM, 4 steps, guidance 8.5 (LatentConsistencyModelPipeline's default; it costs
// nothing there, being an embedding). A TCD model: TCD, 4 steps, guidance 1.
FastPreset fast_preset_for(const std::string& scheduler_class, bool guidance_embedding);

}  // namespace latent::pipeline
