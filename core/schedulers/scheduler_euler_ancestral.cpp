// Euler ancestral sampler, after diffusers' EulerAncestralDiscreteScheduler
// (k-diffusion sample_euler_ancestral).
#include "core/schedulers/scheduler_euler_ancestral.h"

#include <cmath>

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/random.h"

namespace latent::schedulers {
namespace {

class EulerAncestralScheduler : public Scheduler {
 public:
  explicit EulerAncestralScheduler(const SchedulerConfig& config) : Scheduler("euler_a", config) {}

  void set_timesteps(int num_inference_steps) override {
    check_steps(num_inference_steps);
    const SigmaSchedule s = sigma_schedule(config_, alphas_cumprod_, num_inference_steps, false, true);
    std::vector<double> sigmas = s.sigmas;
    sigmas.push_back(0.0);
    set_sigmas(torch::tensor(sigmas, torch::kFloat64).to(torch::kFloat32));
    timesteps_ = torch::tensor(s.timesteps, torch::kFloat64).to(torch::kFloat32);
    num_inference_steps_ = num_inference_steps;
    begin_index_ = 0;
  }

  double init_noise_sigma() const override { return k_init_noise_sigma(config_, sigmas_); }

  torch::Tensor scale_model_input(const torch::Tensor& sample, int call_index) override {
    require_timesteps(call_index);
    return sample / input_denominator(sigma_at(call_index));
  }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& generator) override {
    require_timesteps(call_index);
    const auto x = sample.to(torch::kFloat32);
    const float sigma = sigma_at(call_index);
    auto denoised = k_denoised(x, model_output, sigma, config_.prediction_type);
    const float from = sigma;
    const float to = sigma_at(call_index + 1);
    const float up = std::sqrt(to * to * (from * from - to * to) / (from * from));
    const float down = std::sqrt(to * to - up * up);
    const auto derivative = (x - denoised) / sigma;
    const float dt = down - sigma;
    auto prev = x + derivative * dt;
    // Drawn on every step, the last included (sigma_up = 0 there), as diffusers does.
    const auto noise = randn_like_from(model_output, generator);
    prev = (prev + noise * up).to(model_output.scalar_type());
    return {prev, denoised};
  }

  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override {
    return add_noise_sigma(original, noise, call_index);
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_euler_ancestral(const SchedulerConfig& config) {
  return std::make_unique<EulerAncestralScheduler>(config);
}

}  // namespace latent::schedulers
