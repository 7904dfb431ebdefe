// Heun sampler, after diffusers' HeunDiscreteScheduler (k-diffusion sample_heun).
#include "core/schedulers/scheduler_heun.h"

#include "core/schedulers/noise_schedule.h"

namespace latent::schedulers {
namespace {

// [a, b, c] -> [a, b, b, c, c]: every entry after the first twice.
torch::Tensor repeat_after_first(const torch::Tensor& t) {
  return torch::cat({t.slice(0, 0, 1), t.slice(0, 1).repeat_interleave(2)});
}

class HeunScheduler : public Scheduler {
 public:
  explicit HeunScheduler(const SchedulerConfig& config) : Scheduler("heun", config) {}

  int order() const override { return 2; }

  void set_timesteps(int num_inference_steps) override {
    check_steps(num_inference_steps);
    const SigmaSchedule s = sigma_schedule(config_, alphas_cumprod_, num_inference_steps, false, true);
    std::vector<double> sigmas = s.sigmas;
    sigmas.push_back(0.0);
    const auto sig = torch::tensor(sigmas, torch::kFloat64).to(torch::kFloat32);
    const int64_t n = sig.size(0);
    // [s0, s1, s1, ..., s_{N−1}, s_{N−1}, 0]
    set_sigmas(torch::cat({sig.slice(0, 0, 1), sig.slice(0, 1, n - 1).repeat_interleave(2),
                           sig.slice(0, n - 1)}));
    timesteps_ = repeat_after_first(torch::tensor(s.timesteps, torch::kFloat64).to(torch::kFloat32));
    num_inference_steps_ = num_inference_steps;
    begin_index_ = 0;
    reset_state();
  }

  double init_noise_sigma() const override { return k_init_noise_sigma(config_, sigmas_); }

  torch::Tensor scale_model_input(const torch::Tensor& sample, int call_index) override {
    require_timesteps(call_index);
    return sample / input_denominator(sigma_at(call_index));
  }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& /*generator*/) override {
    require_timesteps(call_index);
    const bool first_order = !dt_.has_value();
    const float sigma = first_order ? sigma_at(call_index) : sigma_at(call_index - 1);
    const float sigma_next = first_order ? sigma_at(call_index + 1) : sigma_at(call_index);
    const float sigma_input = first_order ? sigma : sigma_next;
    auto denoised = k_denoised(sample, model_output, sigma_input, config_.prediction_type);
    if (config_.clip_sample)
      denoised = denoised.clamp(-config_.clip_sample_range, config_.clip_sample_range);

    torch::Tensor prev;
    if (first_order) {
      const auto derivative = (sample - denoised) / sigma;
      const float dt = sigma_next - sigma;
      prev_derivative_ = derivative;
      dt_ = dt;
      sample_ = sample;
      prev = sample + derivative * dt;
    } else {
      auto derivative = (sample - denoised) / sigma_next;
      derivative = (prev_derivative_ + derivative) / 2;
      prev = sample_ + derivative * *dt_;
      reset_state();
    }
    return {prev, denoised};
  }

  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override {
    return add_noise_sigma(original, noise, call_index);
  }

 private:
  void reset_state() {
    prev_derivative_ = torch::Tensor();
    sample_ = torch::Tensor();
    dt_.reset();
  }

  torch::Tensor prev_derivative_;
  torch::Tensor sample_;
  std::optional<float> dt_;
};

}  // namespace

std::unique_ptr<Scheduler> make_heun(const SchedulerConfig& config) {
  return std::make_unique<HeunScheduler>(config);
}

}  // namespace latent::schedulers
