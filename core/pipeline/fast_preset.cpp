#include "core/pipeline/fast_preset.h"

namespace latent::pipeline {

std::string own_sampler_of(const std::string& scheduler_class) {
  if (scheduler_class == "LCMScheduler") return "lcm";
  if (scheduler_class == "TCDScheduler") return "tcd";
  return {};
}

FastPreset fast_preset_for(const std::string& scheduler_class, bool guidance_embedding) {
  FastPreset preset;
  if (own_sampler_of(scheduler_class) == "tcd") {
    preset.sampler = "tcd";
    preset.reason = "TCD, 4 steps, guidance 1: the model's scheduler is TCD";
  } else if (guidance_embedding) {
    preset.guidance_scale = 8.5;
    preset.reason = "LCM, 4 steps, guidance 8.5: an LCM-distilled model takes its guidance as an embedding";
  } else {
    preset.reason = "LCM, 4 steps, guidance 1 (no unconditional half): for LCM-distilled models and LCM-LoRAs";
  }
  return preset;
}

}  // namespace latent::pipeline
