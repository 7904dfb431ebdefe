#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// UniPC (Zhao et al. 2023): 2nd-order predictor with the B(h) = e^h − 1 corrector (bh2).
std::unique_ptr<Scheduler> make_unipc(const SchedulerConfig& config);

}  // namespace latent::schedulers
