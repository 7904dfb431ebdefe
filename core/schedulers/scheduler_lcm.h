#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// Latent Consistency Model sampling (diffusers' LCMScheduler): each step predicts the
// clean latents with the consistency boundary conditions c_skip/c_out and, except on the
// last step, noises them again to the next timestep with a fresh draw.
std::unique_ptr<Scheduler> make_lcm(const SchedulerConfig& config);

// The timesteps LCM and TCD share: the distillation schedule k−1, 2k−1, …, T−1 of
// config.original_inference_steps points (k = T // original steps), reversed, of which
// `num_inference_steps` are taken at evenly spaced indices. Throws latent::Error when more
// steps are asked for than the schedule has. timestep_spacing and steps_offset do not apply.
// The consistency boundary conditions at timestep t (diffusers'
// get_scalings_for_boundary_condition_discrete, sigma_data 0.5), in float32 as diffusers
// computes them from the int64 timestep: st = t·timestep_scaling, c_skip = 0.25/(st² + 0.25),
// c_out = st/sqrt(st² + 0.25).
struct BoundaryScalings {
  float c_skip;
  float c_out;
};
BoundaryScalings lcm_boundary_scalings(int64_t timestep, double timestep_scaling);

std::vector<int64_t> consistency_timesteps(const SchedulerConfig& config, int num_inference_steps,
                                           const std::string& sampler);

// What LCM and TCD share besides their step: consistency_timesteps (int64), unit initial
// noise, unscaled UNet input and DDPM noising for image to image.
class ConsistencyScheduler : public Scheduler {
 public:
  using Scheduler::Scheduler;
  void set_timesteps(int num_inference_steps) override;
  double init_noise_sigma() const override { return 1.0; }
  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override;
};

}  // namespace latent::schedulers
