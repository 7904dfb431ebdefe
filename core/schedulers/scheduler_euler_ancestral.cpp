// Euler ancestral sampler, after diffusers' EulerAncestralDiscreteScheduler
// (k-diffusion sample_euler_ancestral).
#include "core/schedulers/scheduler_euler_ancestral.h"

#include <cmath>

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/random.h"
#include "core/schedulers/sigma_scheduler.h"

namespace latent::schedulers {
namespace {

class EulerAncestralScheduler : public SigmaScheduler {
 public:
  explicit EulerAncestralScheduler(const SchedulerConfig& config)
      : SigmaScheduler("euler_a", config, /*karras_sigmas=*/false) {}

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
};

}  // namespace

std::unique_ptr<Scheduler> make_euler_ancestral(const SchedulerConfig& config) {
  return std::make_unique<EulerAncestralScheduler>(config);
}

}  // namespace latent::schedulers
