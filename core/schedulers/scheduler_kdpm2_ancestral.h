#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// DPM-Solver-2 ancestral (k-diffusion sample_dpm_2_ancestral): 2N − 1 UNet calls, fresh
// noise after every second-order step.
std::unique_ptr<Scheduler> make_kdpm2_ancestral(const SchedulerConfig& config);

}  // namespace latent::schedulers
