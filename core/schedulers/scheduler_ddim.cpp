// DDIM sampler, after diffusers' DDIMScheduler (formulas 12 and 16 of arXiv:2010.02502).
#include "core/schedulers/scheduler_ddim.h"

#include <cmath>

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/random.h"
#include "core/util/error.h"

namespace latent::schedulers {
namespace {

class DdimScheduler : public Scheduler {
 public:
  explicit DdimScheduler(const SchedulerConfig& config) : Scheduler("ddim", config) {}

  void set_timesteps(int num_inference_steps) override {
    check_steps(num_inference_steps);
    if (num_inference_steps > config_.num_train_timesteps)
      throw Error("DDIM cannot take " + std::to_string(num_inference_steps) +
                  " steps: the model was trained with " +
                  std::to_string(config_.num_train_timesteps) + " timesteps");
    std::vector<int64_t> t;
    for (const double v : spaced_timesteps(spacing_of(config_, "leading"), num_inference_steps, config_))
      t.push_back(static_cast<int64_t>(np_round(v)));
    timesteps_ = torch::tensor(t, torch::kInt64);
    num_inference_steps_ = num_inference_steps;
    begin_index_ = 0;
  }

  double init_noise_sigma() const override { return 1.0; }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& generator) override {
    require_timesteps(call_index);
    const int64_t t = timesteps_[call_index].item<int64_t>();
    const int64_t prev_t = t - config_.num_train_timesteps / num_inference_steps_;
    const float alpha = alpha_cumprod_at(t);
    const float alpha_prev = prev_t >= 0 ? alpha_cumprod_at(prev_t) : final_alpha_cumprod();
    const float beta = 1.0f - alpha;

    torch::Tensor x0, eps;
    if (config_.prediction_type == "v_prediction") {
      x0 = std::sqrt(alpha) * sample - std::sqrt(beta) * model_output;
      eps = std::sqrt(alpha) * model_output + std::sqrt(beta) * sample;
    } else {
      x0 = (sample - std::sqrt(beta) * model_output) / std::sqrt(alpha);
      eps = model_output;
    }
    if (config_.clip_sample) x0 = x0.clamp(-config_.clip_sample_range, config_.clip_sample_range);

    const float beta_prev = 1.0f - alpha_prev;
    const float variance = (beta_prev / beta) * (1.0f - alpha / alpha_prev);
    const float std_dev = static_cast<float>(config_.eta) * std::sqrt(variance);
    const auto direction = std::sqrt(1.0f - alpha_prev - std_dev * std_dev) * eps;
    auto prev = std::sqrt(alpha_prev) * x0 + direction;
    if (config_.eta > 0) prev = prev + std_dev * randn_like_from(model_output, generator);
    return {prev, x0};
  }

  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override {
    require_timesteps(call_index);
    return add_noise_ddpm(original, noise, timesteps_[call_index].item<int64_t>());
  }

 private:
  float final_alpha_cumprod() const {
    return config_.set_alpha_to_one ? 1.0f : alphas_cumprod_[0].item<float>();
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_ddim(const SchedulerConfig& config) {
  return std::make_unique<DdimScheduler>(config);
}

}  // namespace latent::schedulers
