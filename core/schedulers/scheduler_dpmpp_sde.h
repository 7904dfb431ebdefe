#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// DPM-Solver++(2S) SDE (k-diffusion sample_dpmpp_sde): 2N − 1 UNet calls, noise from a
// Brownian tree seeded with config.noise_sampler_seed (default: the generator's seed).
std::unique_ptr<Scheduler> make_dpmpp_sde(const SchedulerConfig& config);

}  // namespace latent::schedulers
