#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

enum class DpmVariant {
  plain,   // DPM-Solver++(2M)
  karras,  // DPM-Solver++(2M) on Karras sigmas
  sde,     // SDE-DPM-Solver++(2M): fresh noise from the generator every step
};

// DPM-Solver++ multistep, 2nd order, midpoint solver, the last step 1st order.
std::unique_ptr<Scheduler> make_dpmpp_2m(const SchedulerConfig& config, DpmVariant variant);

}  // namespace latent::schedulers
