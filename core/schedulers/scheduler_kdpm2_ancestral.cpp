// KDPM2 ancestral sampler, after diffusers' KDPM2AncestralDiscreteScheduler.
#include "core/schedulers/scheduler_kdpm2_ancestral.h"

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/random.h"
#include "core/schedulers/scheduler_kdpm2.h"
#include "core/schedulers/sigma_scheduler.h"

namespace latent::schedulers {
namespace {

class Kdpm2AncestralScheduler : public SigmaScheduler {
 public:
  explicit Kdpm2AncestralScheduler(const SchedulerConfig& config)
      : SigmaScheduler("kdpm2_a", config, /*karras_sigmas=*/false) {}

  int order() const override { return 2; }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& generator) override {
    require_timesteps(call_index);
    const int i = call_index;
    if (first_order()) {
      const float sigma = sigma_at(i);
      const float sigma_interpol = at(interpol_, i);
      auto denoised = k_denoised(sample, model_output, sigma, config_.prediction_type);
      const auto derivative = (sample - denoised) / sigma;
      sample_ = sample;
      return {sample + derivative * (sigma_interpol - sigma), denoised};
    }
    const float sigma = sigma_at(i - 1);
    const float sigma_interpol = at(interpol_, i - 1);
    const float sigma_up = at(up_, i - 1);
    const float sigma_down = at(down_, i - 1);
    auto denoised = k_denoised(sample, model_output, sigma_interpol, config_.prediction_type);
    const auto derivative = (sample - denoised) / sigma_interpol;
    auto prev = sample_ + derivative * (sigma_down - sigma);
    sample_ = torch::Tensor();
    const auto noise = randn_like_from(model_output, generator);
    return {prev + noise * sigma_up, denoised};
  }

 private:
  void lay_out_schedule(const SigmaSchedule& schedule, const torch::Tensor& sigmas) override {
    // The up/down split of each step and the midpoints, in torch float32 as diffusers does.
    auto next = sigmas.roll(-1);
    next[-1] = 0.0;
    const auto up = (next.pow(2) * (sigmas.pow(2) - next.pow(2)) / sigmas.pow(2)).pow(0.5);
    auto down = (next.pow(2) - up.pow(2)).pow(0.5);
    down[-1] = 0.0;
    auto interpol = sigmas.log().lerp(down.log(), 0.5).exp();
    interpol.slice(0, interpol.size(0) - 2).fill_(0.0);

    set_sigmas(kdpm2_layout(sigmas));
    interpol_ = to_floats(kdpm2_layout(interpol));
    up_ = to_floats(kdpm2_layout(up));
    down_ = to_floats(kdpm2_layout(down));

    const auto timesteps = float32_tensor(schedule.timesteps);
    const auto midpoints = to_floats(interpol);
    std::vector<float> t = {timesteps[0].item<float>()};
    for (int64_t k = 0; k + 2 < static_cast<int64_t>(midpoints.size()); ++k) {
      t.push_back(sigma_to_t_f32(midpoints[static_cast<size_t>(k)], log_train_sigmas()));
      t.push_back(timesteps[k + 1].item<float>());
    }
    timesteps_ = torch::tensor(t, torch::kFloat32);
  }

  void reset_state() override { sample_ = torch::Tensor(); }

  // The second call of a step runs the UNet at the midpoint.
  float model_input_sigma(int call_index) const override {
    return first_order() ? sigma_at(call_index) : at(interpol_, call_index - 1);
  }

  bool first_order() const { return !sample_.defined(); }
  static float at(const std::vector<float>& values, int index) {
    return values.at(static_cast<size_t>(index));
  }

  std::vector<float> interpol_;
  std::vector<float> up_;
  std::vector<float> down_;
  torch::Tensor sample_;
};

}  // namespace

std::unique_ptr<Scheduler> make_kdpm2_ancestral(const SchedulerConfig& config) {
  return std::make_unique<Kdpm2AncestralScheduler>(config);
}

}  // namespace latent::schedulers
