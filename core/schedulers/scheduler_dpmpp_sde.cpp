// DPM++ SDE sampler, after diffusers' DPMSolverSDEScheduler (k-diffusion sample_dpmpp_sde).
#include "core/schedulers/scheduler_dpmpp_sde.h"

#include <algorithm>
#include <cmath>

#include "core/schedulers/brownian_tree.h"
#include "core/schedulers/noise_schedule.h"

namespace latent::schedulers {
namespace {

class DpmppSdeScheduler : public Scheduler {
 public:
  explicit DpmppSdeScheduler(const SchedulerConfig& config) : Scheduler("dpmpp_sde", config) {}

  int order() const override { return 2; }

  void set_timesteps(int num_inference_steps) override {
    check_steps(num_inference_steps);
    const SigmaSchedule s = sigma_schedule(config_, alphas_cumprod_, num_inference_steps, false, false);
    // Timesteps of the midpoints, half way in t = −log σ (numpy float64).
    const auto log_sigmas = log_f32(to_floats(train_sigmas(alphas_cumprod_)));
    std::vector<double> midpoint_t;
    for (size_t k = 0; k + 1 < s.sigmas.size(); ++k) {
      const double t = -std::log(s.sigmas[k]);
      const double t_next = -std::log(s.sigmas[k + 1]);
      midpoint_t.push_back(sigma_to_t(std::exp(-(t + (t_next - t) * 0.5)), log_sigmas));
    }
    std::vector<double> t = {s.timesteps.front()};
    for (size_t k = 1; k < s.timesteps.size(); ++k) {
      t.push_back(midpoint_t[k - 1]);
      t.push_back(s.timesteps[k]);
    }
    timesteps_ = torch::tensor(t, torch::kFloat64);

    std::vector<double> sigmas = s.sigmas;
    sigmas.push_back(0.0);
    const auto sig = torch::tensor(sigmas, torch::kFloat64).to(torch::kFloat32);
    const int64_t n = sig.size(0);
    set_sigmas(torch::cat({sig.slice(0, 0, 1), sig.slice(0, 1, n - 1).repeat_interleave(2),
                           sig.slice(0, n - 1)}));
    num_inference_steps_ = num_inference_steps;
    begin_index_ = 0;
    sample_ = torch::Tensor();
    mid_point_sigma_ = 0;
    tree_.reset();
  }

  double init_noise_sigma() const override { return k_init_noise_sigma(config_, sigmas_); }

  torch::Tensor scale_model_input(const torch::Tensor& sample, int call_index) override {
    require_timesteps(call_index);
    const float sigma = first_order() ? sigma_at(call_index) : mid_point_sigma_;
    return sample / input_denominator(sigma);
  }

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

  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override {
    return add_noise_sigma(original, noise, call_index);
  }

 private:
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
