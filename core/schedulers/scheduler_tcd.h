#pragma once

#include <memory>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// Trajectory Consistency Distillation's strategic stochastic sampling (diffusers'
// TCDScheduler): LCM's timesteps, each step jumping to s = floor((1 − γ)·t_next) and,
// with γ = config.gamma > 0, noising back up to t_next. γ = 0 is deterministic.
std::unique_ptr<Scheduler> make_tcd(const SchedulerConfig& config);

// The intermediate timestep s = floor((1 − γ)·t_next) of a TCD step, computed in float32
// as diffusers does (a python float times an int64 tensor).
int64_t tcd_timestep_s(double gamma, int64_t next_timestep);

}  // namespace latent::schedulers
