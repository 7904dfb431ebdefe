// Heun sampler, after diffusers' HeunDiscreteScheduler (k-diffusion sample_heun).
#include "core/schedulers/scheduler_heun.h"

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/sigma_scheduler.h"

namespace latent::schedulers {

torch::Tensor heun_layout(const torch::Tensor& sigmas) {
  const int64_t n = sigmas.size(0);
  return torch::cat({sigmas.slice(0, 0, 1), sigmas.slice(0, 1, n - 1).repeat_interleave(2),
                     sigmas.slice(0, n - 1)});
}

namespace {

// [a, b, c] -> [a, b, b, c, c]: every entry after the first twice.
torch::Tensor repeat_after_first(const torch::Tensor& t) {
  return torch::cat({t.slice(0, 0, 1), t.slice(0, 1).repeat_interleave(2)});
}

class HeunScheduler : public SigmaScheduler {
 public:
  explicit HeunScheduler(const SchedulerConfig& config)
      : SigmaScheduler("heun", config, /*karras_sigmas=*/false) {}

  int order() const override { return 2; }

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

 private:
  void lay_out_schedule(const SigmaSchedule& schedule, const torch::Tensor& sigmas) override {
    set_sigmas(heun_layout(sigmas));
    timesteps_ = repeat_after_first(float32_tensor(schedule.timesteps));
  }

  void reset_state() override {
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
