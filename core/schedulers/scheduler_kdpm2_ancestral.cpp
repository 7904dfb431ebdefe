// KDPM2 ancestral sampler, after diffusers' KDPM2AncestralDiscreteScheduler.
#include "core/schedulers/scheduler_kdpm2_ancestral.h"

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/random.h"
#include "core/schedulers/scheduler_kdpm2.h"

namespace latent::schedulers {
namespace {

class Kdpm2AncestralScheduler : public Scheduler {
 public:
  explicit Kdpm2AncestralScheduler(const SchedulerConfig& config) : Scheduler("kdpm2_a", config) {}

  int order() const override { return 2; }

  void set_timesteps(int num_inference_steps) override {
    check_steps(num_inference_steps);
    const SigmaSchedule s = sigma_schedule(config_, alphas_cumprod_, num_inference_steps, false, true);
    std::vector<double> values = s.sigmas;
    values.push_back(0.0);
    const auto sigmas = torch::tensor(values, torch::kFloat64).to(torch::kFloat32);  // [N+1]
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

    const auto timesteps = torch::tensor(s.timesteps, torch::kFloat64).to(torch::kFloat32);
    const auto log_sigmas = log_f32(to_floats(train_sigmas(alphas_cumprod_)));
    const auto midpoints = to_floats(interpol);
    std::vector<float> t = {timesteps[0].item<float>()};
    for (int64_t k = 0; k + 2 < static_cast<int64_t>(midpoints.size()); ++k) {
      t.push_back(sigma_to_t_f32(midpoints[static_cast<size_t>(k)], log_sigmas));
      t.push_back(timesteps[k + 1].item<float>());
    }
    timesteps_ = torch::tensor(t, torch::kFloat32);
    num_inference_steps_ = num_inference_steps;
    begin_index_ = 0;
    sample_ = torch::Tensor();
  }

  double init_noise_sigma() const override { return k_init_noise_sigma(config_, sigmas_); }

  torch::Tensor scale_model_input(const torch::Tensor& sample, int call_index) override {
    require_timesteps(call_index);
    const float sigma = first_order() ? sigma_at(call_index) : at(interpol_, call_index - 1);
    return sample / input_denominator(sigma);
  }

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

  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override {
    return add_noise_sigma(original, noise, call_index);
  }

 private:
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
