// Euler sampler, after diffusers' EulerDiscreteScheduler (k-diffusion sample_euler).
#include "core/schedulers/scheduler_euler.h"

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/sigma_scheduler.h"

namespace latent::schedulers {
namespace {

class EulerScheduler : public SigmaScheduler {
 public:
  EulerScheduler(const SchedulerConfig& config, bool karras)
      : SigmaScheduler(karras ? "euler_karras" : "euler", config, karras) {}

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
};

}  // namespace

std::unique_ptr<Scheduler> make_euler(const SchedulerConfig& config, bool karras_sigmas) {
  return std::make_unique<EulerScheduler>(config, karras_sigmas);
}

}  // namespace latent::schedulers
