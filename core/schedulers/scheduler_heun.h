#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// Heun's 2nd-order method (Karras et al. 2022, Algorithm 1): 2N − 1 UNet calls.
std::unique_ptr<Scheduler> make_heun(const SchedulerConfig& config);

}  // namespace latent::schedulers
