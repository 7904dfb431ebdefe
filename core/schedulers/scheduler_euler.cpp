// Euler sampler, after diffusers' EulerDiscreteScheduler (k-diffusion sample_euler).
#include "core/schedulers/scheduler_euler.h"

#include "core/schedulers/noise_schedule.h"

namespace latent::schedulers {
namespace {

class EulerScheduler : public Scheduler {
 public:
  EulerScheduler(const SchedulerConfig& config, bool karras)
      : Scheduler(karras ? "euler_karras" : "euler", config), karras_(karras) {}

  void set_timesteps(int num_inference_steps) override {
    check_steps(num_inference_steps);
    const SigmaSchedule s = sigma_schedule(config_, alphas_cumprod_, num_inference_steps, karras_, true);
    std::vector<double> sigmas = s.sigmas;
    sigmas.push_back(0.0);  // final_sigmas_type "zero"
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
                  at::Generator& /*generator*/) override {
    require_timesteps(call_index);
    const auto x = sample.to(torch::kFloat32);
    const float sigma = sigma_at(call_index);  // s_churn = 0: sigma_hat = sigma, no noise
    auto denoised = k_denoised(x, model_output, sigma, config_.prediction_type);
    const auto derivative = (x - denoised) / sigma;
    const float dt = sigma_at(call_index + 1) - sigma;
    auto prev = (x + derivative * dt).to(model_output.scalar_type());
    return {prev, denoised};
  }

  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override {
    return add_noise_sigma(original, noise, call_index);
  }

 private:
  bool karras_;
};

}  // namespace

std::unique_ptr<Scheduler> make_euler(const SchedulerConfig& config, bool karras_sigmas) {
  return std::make_unique<EulerScheduler>(config, karras_sigmas);
}

}  // namespace latent::schedulers
