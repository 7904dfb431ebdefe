#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// Euler ancestral: an Euler step down to sigma_down plus fresh noise of sigma_up.
std::unique_ptr<Scheduler> make_euler_ancestral(const SchedulerConfig& config);

}  // namespace latent::schedulers
