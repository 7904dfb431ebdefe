#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// PNDM (Liu et al. 2022); with skip_prk_steps (Stable Diffusion's setting) it is PLMS:
// N + 1 UNet calls, the second timestep taken twice.
std::unique_ptr<Scheduler> make_pndm(const SchedulerConfig& config);

}  // namespace latent::schedulers
