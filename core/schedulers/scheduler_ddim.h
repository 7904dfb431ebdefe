#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// DDIM (Song et al. 2020); config.eta = 0 is deterministic, eta = 1 as noisy as DDPM.
std::unique_ptr<Scheduler> make_ddim(const SchedulerConfig& config);

}  // namespace latent::schedulers
