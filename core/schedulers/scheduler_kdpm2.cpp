// KDPM2 sampler, after diffusers' KDPM2DiscreteScheduler (k-diffusion sample_dpm_2).
#include "core/schedulers/scheduler_kdpm2.h"

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/sigma_scheduler.h"

namespace latent::schedulers {

torch::Tensor kdpm2_layout(const torch::Tensor& values) {
  return torch::cat({values.slice(0, 0, 1), values.slice(0, 1).repeat_interleave(2),
                     values.slice(0, values.size(0) - 1)});
}

namespace {

class Kdpm2Scheduler : public SigmaScheduler {
 public:
  explicit Kdpm2Scheduler(const SchedulerConfig& config)
      : SigmaScheduler("kdpm2", config, /*karras_sigmas=*/false) {}

  int order() const override { return 2; }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& /*generator*/) override {
    require_timesteps(call_index);
    const bool first = first_order();
    const int i = call_index;
    const float sigma = first ? sigma_at(i) : sigma_at(i - 1);
    const float sigma_interpol = first ? interpol_at(i + 1) : interpol_at(i);
    const float sigma_next = first ? sigma_at(i + 1) : sigma_at(i);
    auto denoised =
        k_denoised(sample, model_output, first ? sigma : sigma_interpol, config_.prediction_type);
    torch::Tensor prev;
    if (first) {
      const auto derivative = (sample - denoised) / sigma;
      sample_ = sample;
      prev = sample + derivative * (sigma_interpol - sigma);
    } else {
      const auto derivative = (sample - denoised) / sigma_interpol;
      prev = sample_ + derivative * (sigma_next - sigma);
      sample_ = torch::Tensor();
    }
    return {prev, denoised};
  }

 private:
  void lay_out_schedule(const SigmaSchedule& schedule, const torch::Tensor& sigmas) override {
    // Geometric midpoints with the previous sigma, in torch float32 as diffusers does.
    const auto interpol = sigmas.log().lerp(sigmas.roll(1).log(), 0.5).exp();  // [N+1]
    set_sigmas(kdpm2_layout(sigmas));
    sigmas_interpol_ = to_floats(kdpm2_layout(interpol));

    const auto timesteps = float32_tensor(schedule.timesteps);
    const auto midpoints = to_floats(interpol);
    std::vector<float> t = {timesteps[0].item<float>()};
    for (int64_t k = 1; k + 1 < static_cast<int64_t>(midpoints.size()); ++k) {
      t.push_back(sigma_to_t_f32(midpoints[static_cast<size_t>(k)], log_train_sigmas()));
      t.push_back(timesteps[k].item<float>());
    }
    timesteps_ = torch::tensor(t, torch::kFloat32);
  }

  void reset_state() override { sample_ = torch::Tensor(); }

  // The second call of a step runs the UNet at the midpoint.
  float model_input_sigma(int call_index) const override {
    return first_order() ? sigma_at(call_index) : interpol_at(call_index);
  }

  bool first_order() const { return !sample_.defined(); }
  float interpol_at(int index) const { return sigmas_interpol_.at(static_cast<size_t>(index)); }

  std::vector<float> sigmas_interpol_;
  torch::Tensor sample_;
};

}  // namespace

std::unique_ptr<Scheduler> make_kdpm2(const SchedulerConfig& config) {
  return std::make_unique<Kdpm2Scheduler>(config);
}

}  // namespace latent::schedulers
