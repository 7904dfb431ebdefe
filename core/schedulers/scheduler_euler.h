#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// Euler (Karras et al. 2022, Algorithm 2 without churn), optionally on Karras sigmas.
std::unique_ptr<Scheduler> make_euler(const SchedulerConfig& config, bool karras_sigmas);

}  // namespace latent::schedulers
