// DPM++ SDE sampler, after diffusers' DPMSolverSDEScheduler (k-diffusion sample_dpmpp_sde).
#include "core/schedulers/scheduler_dpmpp_sde.h"

#include <algorithm>
#include <cmath>

#include "core/schedulers/brownian_tree.h"
#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/scheduler_heun.h"
#include "core/schedulers/sigma_scheduler.h"

namespace latent::schedulers {
namespace {

class DpmppSdeScheduler : public SigmaScheduler {
 public:
  // diffusers' DPMSolverSDEScheduler spaces its timesteps in float64.
  explicit DpmppSdeScheduler(const SchedulerConfig& config)
      : SigmaScheduler("dpmpp_sde", config, /*karras_sigmas=*/false, TimestepGrid::float64) {}

  int order() const override { return 2; }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample_in,
                  at::Generator& generator) override {
    require_timesteps(call_index);
    if (!tree_) {
      const auto positive = sigmas_.masked_select(sigmas_ > 0);
      const uint64_t seed = config_.noise_sampler_seed ? *config_.noise_sampler_seed
                                                       : generator.current_seed();
      tree_ = std::make_unique<BrownianTree>(positive.min().item<float>(), sigmas_.max().item<float>(),
                                             sample_in.sizes().vec(), seed);
    }
    const bool first = first_order();
    const int i = call_index;
    const float sigma = first ? sigma_at(i) : sigma_at(i - 1);
    const float sigma_next = first ? sigma_at(i + 1) : sigma_at(i);
    const auto sigma_fn = [](float t) { return torch_exp(-t); };
    const auto t_fn = [](float s) { return -torch_log(s); };

    const float t = t_fn(sigma);
    float t_next = t_fn(sigma_next);
    const float t_proposed = t + (t_next - t) * 0.5f;
    const float sigma_input = first ? sigma : sigma_fn(t_proposed);
    auto denoised = k_denoised(sample_in, model_output, sigma_input, config_.prediction_type);

    if (sigma_next == 0) {
      const auto derivative = (sample_in - denoised) / sigma;
      return {sample_in + derivative * (sigma_next - sigma), denoised};
    }
    torch::Tensor sample = sample_in;
    if (first)
      t_next = t_proposed;
    else
      sample = sample_;
    const float sigma_from = sigma_fn(t);
    const float sigma_to = sigma_fn(t_next);
    const float up = std::min(
        sigma_to, std::sqrt(sigma_to * sigma_to * (sigma_from * sigma_from - sigma_to * sigma_to) /
                            (sigma_from * sigma_from)));
    const float down = std::sqrt(sigma_to * sigma_to - up * up);
    const float ancestral_t = t_fn(down);
    auto prev = (sigma_fn(ancestral_t) / sigma_fn(t)) * sample - torch_expm1(t - ancestral_t) * denoised;
    prev = prev + brownian_noise(sigma_from, sigma_to).to(prev.device(), prev.scalar_type()) * 1.0f * up;
    if (first) {
      sample_ = sample;
      mid_point_sigma_ = sigma_to;
    } else {
      sample_ = torch::Tensor();
      mid_point_sigma_ = 0;
    }
    return {prev, denoised};
  }

 private:
  void lay_out_schedule(const SigmaSchedule& schedule, const torch::Tensor& sigmas) override {
    // Timesteps of the midpoints, half way in t = −log σ (numpy float64).
    std::vector<double> midpoint_t;
    for (size_t k = 0; k + 1 < schedule.sigmas.size(); ++k) {
      const double t = -std::log(schedule.sigmas[k]);
      const double t_next = -std::log(schedule.sigmas[k + 1]);
      midpoint_t.push_back(sigma_to_t(std::exp(-(t + (t_next - t) * 0.5)), log_train_sigmas()));
    }
    std::vector<double> t = {schedule.timesteps.front()};
    for (size_t k = 1; k < schedule.timesteps.size(); ++k) {
      t.push_back(midpoint_t[k - 1]);
      t.push_back(schedule.timesteps[k]);
    }
    timesteps_ = torch::tensor(t, torch::kFloat64);
    set_sigmas(heun_layout(sigmas));
  }

  void reset_state() override {
    sample_ = torch::Tensor();
    mid_point_sigma_ = 0;
    tree_.reset();
  }

  // The second call of a step runs the UNet at the midpoint.
  float model_input_sigma(int call_index) const override {
    return first_order() ? sigma_at(call_index) : mid_point_sigma_;
  }

  bool first_order() const { return !sample_.defined(); }

  // The Brownian increment from sigma to sigma_next (downwards), scaled to unit variance.
  torch::Tensor brownian_noise(float sigma, float sigma_next) {
    const bool swapped = sigma_next < sigma;
    const float lo = swapped ? sigma_next : sigma;
    const float hi = swapped ? sigma : sigma_next;
    const auto w = tree_->increment(lo, hi) * (swapped ? -1.0 : 1.0);
    return w / std::sqrt(std::abs(sigma_next - sigma));
  }

  torch::Tensor sample_;
  float mid_point_sigma_ = 0;
  std::unique_ptr<BrownianTree> tree_;
};

}  // namespace

std::unique_ptr<Scheduler> make_dpmpp_sde(const SchedulerConfig& config) {
  return std::make_unique<DpmppSdeScheduler>(config);
}

}  // namespace latent::schedulers
