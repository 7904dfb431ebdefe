#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// Heun's 2nd-order method (Karras et al. 2022, Algorithm 1): 2N − 1 UNet calls.
std::unique_ptr<Scheduler> make_heun(const SchedulerConfig& config);

// [s0, s1, ..., s_{N−1}, 0] -> [s0, s1, s1, ..., s_{N−1}, s_{N−1}, 0]: every sigma but the
// first and the final zero twice (the layout diffusers gives the sigmas of Heun and of
// DPMSolverSDE, one per UNet call plus the final zero).
torch::Tensor heun_layout(const torch::Tensor& sigmas);

}  // namespace latent::schedulers
