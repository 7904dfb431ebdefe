// TCD sampler, after diffusers' TCDScheduler (Zheng et al. 2024, arXiv:2402.19159).
#include "core/schedulers/scheduler_tcd.h"

#include <cmath>

#include "core/schedulers/random.h"
#include "core/schedulers/scheduler_lcm.h"
#include "core/util/error.h"

namespace latent::schedulers {

int64_t tcd_timestep_s(double gamma, int64_t next_timestep) {
  return static_cast<int64_t>(std::floor(static_cast<float>(1.0 - gamma) * static_cast<float>(next_timestep)));
}

namespace {

// diffusers' pipelines never pass original_inference_steps to TCD's set_timesteps, so
// the config's value is the one that counts (passing it explicitly would switch diffusers
// to another origin schedule; an override here goes into the config instead).
class TcdScheduler : public ConsistencyScheduler {
 public:
  explicit TcdScheduler(const SchedulerConfig& config) : ConsistencyScheduler("tcd", config) {
    if (!(config_.gamma >= 0 && config_.gamma <= 1))
      throw Error("TCD gamma " + std::to_string(config_.gamma) + " is out of range: use 0 to 1");
  }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& generator) override {
    require_timesteps(call_index);
    const int64_t t = timesteps_[call_index].item<int64_t>();
    const bool last = call_index == num_calls() - 1;
    const int64_t next_t = last ? 0 : timesteps_[call_index + 1].item<int64_t>();
    const int64_t s = tcd_timestep_s(config_.gamma, next_t);
    const float alpha = alpha_cumprod_at(t);
    const float beta = 1.0f - alpha;
    const float alpha_next = alpha_cumprod_at(next_t);
    const float alpha_s = alpha_cumprod_at(s);

    torch::Tensor x0, eps;
    if (config_.prediction_type == "v_prediction") {
      x0 = std::sqrt(alpha) * sample - std::sqrt(beta) * model_output;
      eps = std::sqrt(alpha) * model_output + std::sqrt(beta) * sample;
    } else {
      x0 = (sample - std::sqrt(beta) * model_output) / std::sqrt(alpha);
      eps = model_output;
    }
    // x_s: the jump to s along the predicted trajectory (the last step lands on s = 0,
    // which keeps sqrt(1 − ᾱ₀)·eps).
    const torch::Tensor noised = std::sqrt(alpha_s) * x0 + std::sqrt(1.0f - alpha_s) * eps;
    if (!(config_.gamma > 0) || last) return {noised, x0};
    const auto noise = randn_like_from(model_output, generator);
    const float ratio = alpha_next / alpha_s;
    return {std::sqrt(ratio) * noised + std::sqrt(1.0f - ratio) * noise, x0};
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_tcd(const SchedulerConfig& config) {
  return std::make_unique<TcdScheduler>(config);
}

}  // namespace latent::schedulers
