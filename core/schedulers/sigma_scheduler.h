#pragma once

// The base of the k-diffusion samplers, which work in sigma space: LMS, Euler, Euler a,
// Heun, KDPM2, KDPM2 a and DPM++ SDE (diffusers' LMSDiscreteScheduler,
// EulerDiscreteScheduler, EulerAncestralDiscreteScheduler, HeunDiscreteScheduler,
// KDPM2DiscreteScheduler, KDPM2AncestralDiscreteScheduler, DPMSolverSDEScheduler).
// diffusers gives each of those classes its own copy of the same set_timesteps
// (spaced timesteps, sigmas interpolated from the training sigmas or Karras sigmas, a
// final zero), init_noise_sigma, scale_model_input (x / sqrt(σ² + 1)) and add_noise
// (x + σ·noise); here they live once. A sampler adds its step and, where it makes more
// than one UNet call per step, how it lays the schedule out over its calls.
//
// DDIM and PNDM (timestep space) and the multistep solvers DPM++ 2M and UniPC (sigmas
// from the multistep timesteps, unscaled UNet input, VP add_noise) are not of this kind.

#include <string>
#include <vector>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// The dtype of the grid diffusers' set_timesteps spaces the timesteps on: np.float32 in
// LMS, Euler, Euler a, Heun and KDPM2 (a), float64 in DPMSolverSDE. The sigmas are
// interpolated at the grid's values, so the two give slightly different sigmas.
enum class TimestepGrid { float32, float64 };

// One sigma per inference step, in diffusers' float64 numpy values, before a sampler
// lays it out over its calls.
struct SigmaSchedule {
  std::vector<double> timesteps;  // N, descending
  std::vector<double> sigmas;     // N, descending; the final zero is not included
};

class SigmaScheduler : public Scheduler {
 public:
  // `karras_sigmas`: the use_karras_sigmas option of the samplers that offer it.
  SigmaScheduler(std::string name, const SchedulerConfig& config, bool karras_sigmas,
                 TimestepGrid grid = TimestepGrid::float32);

  // The schedule of every sigma sampler, then lay_out_schedule and reset_state.
  void set_timesteps(int num_inference_steps) final;
  // max(σ) for linspace and trailing spacings, sqrt(max(σ)² + 1) for leading.
  double init_noise_sigma() const final;
  // sample / sqrt(σ² + 1), σ = model_input_sigma(call_index).
  torch::Tensor scale_model_input(const torch::Tensor& sample, int call_index) final;
  // original + σ·noise at the call's sigma.
  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const final;

 protected:
  // Stores the schedule as the calls' timesteps_ and sigmas (set_sigmas). `sigmas` is
  // schedule.sigmas with the final zero, float32 [N + 1], as diffusers keeps them. The
  // default makes one call per step: timesteps float32 [N], sigmas [N + 1].
  virtual void lay_out_schedule(const SigmaSchedule& schedule, const torch::Tensor& sigmas);
  // Forgets what a previous run left behind (multistep history, a half-done 2nd-order step).
  virtual void reset_state() {}
  // The sigma the UNet input of `call_index` is scaled by; the 2nd-order samplers scale
  // their second call by the midpoint's sigma instead of the call's own.
  virtual float model_input_sigma(int call_index) const { return sigma_at(call_index); }

  // numpy's float32 log of the training sigmas (diffusers' log_sigmas), for sigma_to_t.
  const std::vector<float>& log_train_sigmas() const { return log_train_sigmas_; }
  // float64 values to a float32 tensor, as torch.from_numpy(values).to(torch.float32).
  static torch::Tensor float32_tensor(const std::vector<double>& values);

 private:
  SigmaSchedule schedule_of(int num_inference_steps) const;

  bool karras_sigmas_;
  TimestepGrid grid_;
  std::vector<float> train_sigmas_;      // sqrt((1 − ā) / ā), float32
  std::vector<float> log_train_sigmas_;  // numpy float32 log of train_sigmas_
};

}  // namespace latent::schedulers
