#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// DPM-Solver-2 as in k-diffusion (sample_dpm_2): a midpoint in log sigma, 2N − 1 UNet calls.
std::unique_ptr<Scheduler> make_kdpm2(const SchedulerConfig& config);

// [a, b, c] -> [a, b, b, c, c, c]: the first entry once, the rest twice, the last again
// (the layout diffusers gives KDPM2's sigma tables).
torch::Tensor kdpm2_layout(const torch::Tensor& values);

}  // namespace latent::schedulers
