#include "core/schedulers/sigma_scheduler.h"

#include <utility>

#include "core/schedulers/noise_schedule.h"

namespace latent::schedulers {

SigmaScheduler::SigmaScheduler(std::string name, const SchedulerConfig& config, bool karras_sigmas,
                               TimestepGrid grid)
    : Scheduler(std::move(name), config, TerminalAlpha::finite),
      karras_sigmas_(karras_sigmas),
      grid_(grid),
      train_sigmas_(to_floats(train_sigmas(alphas_cumprod_))),
      log_train_sigmas_(log_f32(train_sigmas_)) {}

void SigmaScheduler::set_timesteps(int num_inference_steps) {
  check_steps(num_inference_steps);
  const SigmaSchedule schedule = schedule_of(num_inference_steps);
  std::vector<double> sigmas = schedule.sigmas;
  sigmas.push_back(0.0);  // diffusers' np.concatenate([sigmas, [0.0]]): final_sigmas_type "zero"
  lay_out_schedule(schedule, float32_tensor(sigmas));
  num_inference_steps_ = num_inference_steps;
  begin_index_ = 0;
  reset_state();
}

// diffusers' set_timesteps of the k-diffusion samplers: timesteps by the configured spacing
// (default linspace), sigmas = np.interp(timesteps, arange(T), training sigmas); with
// use_karras_sigmas, Karras sigmas between the first and last of those instead and the
// timesteps recovered from them by _sigma_to_t.
SigmaSchedule SigmaScheduler::schedule_of(int num_inference_steps) const {
  SigmaSchedule s;
  s.timesteps = spaced_timesteps(spacing_of(config_, "linspace"), num_inference_steps, config_);
  if (grid_ == TimestepGrid::float32)
    for (double& t : s.timesteps) t = static_cast<double>(static_cast<float>(t));
  s.sigmas = np_interp_train(s.timesteps, train_sigmas_);
  if (karras_sigmas_) {
    s.sigmas = karras_sigmas(s.sigmas.back(), s.sigmas.front(), num_inference_steps);
    s.timesteps.clear();
    for (const double sigma : s.sigmas) s.timesteps.push_back(sigma_to_t(sigma, log_train_sigmas_));
  }
  return s;
}

void SigmaScheduler::lay_out_schedule(const SigmaSchedule& schedule, const torch::Tensor& sigmas) {
  set_sigmas(sigmas);
  timesteps_ = float32_tensor(schedule.timesteps);
}

// diffusers: max(σ) where timestep_spacing is "linspace" or "trailing", else
// (max(σ)² + 1) ** 0.5, both on the float32 sigma tensor.
double SigmaScheduler::init_noise_sigma() const {
  const float max_sigma = sigmas_.max().item<float>();
  const std::string spacing = spacing_of(config_, "linspace");
  if (spacing == "linspace" || spacing == "trailing") return max_sigma;
  return input_denominator(max_sigma);
}

// diffusers: sample / ((sigma**2 + 1) ** 0.5).
torch::Tensor SigmaScheduler::scale_model_input(const torch::Tensor& sample, int call_index) {
  require_timesteps(call_index);
  return sample / input_denominator(model_input_sigma(call_index));
}

// diffusers: original_samples + noise * sigma, sigma at the call's step index.
torch::Tensor SigmaScheduler::add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                                        int call_index) const {
  require_timesteps(call_index);
  return original + noise * sigma_at(call_index);
}

torch::Tensor SigmaScheduler::float32_tensor(const std::vector<double>& values) {
  return torch::tensor(values, torch::kFloat64).to(torch::kFloat32);
}

}  // namespace latent::schedulers
