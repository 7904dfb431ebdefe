#pragma once

#include <memory>
#include <vector>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// K-LMS: linear multistep on the probability-flow ODE, up to 4th order.
std::unique_ptr<Scheduler> make_lms(const SchedulerConfig& config, bool karras_sigmas);

// The coefficients of step `step_index`: for j < order, the integral over
// [sigmas[step_index], sigmas[step_index + 1]] of the Lagrange basis polynomial through
// sigmas[step_index − k] (k < order) that is 1 at sigmas[step_index − j]. The polynomials
// have degree < 4, so 4-point Gauss–Legendre integrates them exactly.
std::vector<double> lms_coefficients(const std::vector<double>& sigmas, int step_index, int order);

}  // namespace latent::schedulers
