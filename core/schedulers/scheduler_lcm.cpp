// LCM sampler, after diffusers' LCMScheduler (Luo et al. 2023, arXiv:2310.04378).
#include "core/schedulers/scheduler_lcm.h"

#include <cmath>

#include "core/schedulers/random.h"
#include "core/util/error.h"

namespace latent::schedulers {

BoundaryScalings lcm_boundary_scalings(int64_t timestep, double timestep_scaling) {
  const float scaled = static_cast<float>(timestep) * static_cast<float>(timestep_scaling);
  const float sigma_data_sq = 0.25f;
  return {sigma_data_sq / (scaled * scaled + sigma_data_sq),
          scaled / std::sqrt(scaled * scaled + sigma_data_sq)};
}

std::vector<int64_t> consistency_timesteps(const SchedulerConfig& config, int num_inference_steps,
                                           const std::string& sampler) {
  const int original = config.original_inference_steps;
  const int train = config.num_train_timesteps;
  if (original < 1 || original > train)
    throw Error(sampler + ": original inference steps " + std::to_string(original) +
                " should be between 1 and num_train_timesteps = " + std::to_string(train));
  if (num_inference_steps < 1 || num_inference_steps > original)
    throw Error(sampler + " cannot take " + std::to_string(num_inference_steps) +
                " steps: the schedule it was distilled on has " + std::to_string(original) +
                " (raise the original inference steps or take fewer steps)");
  const int64_t k = train / original;
  std::vector<int64_t> origin;  // reversed: T−1 first
  for (int64_t i = original; i >= 1; --i) origin.push_back(i * k - 1);
  // numpy: floor(linspace(0, len, N, endpoint=False)), i.e. floor(i · (len / N)) in float64.
  const double stride = static_cast<double>(origin.size()) / num_inference_steps;
  std::vector<int64_t> out;
  for (int i = 0; i < num_inference_steps; ++i)
    out.push_back(origin[static_cast<size_t>(std::floor(i * stride))]);
  return out;
}

void ConsistencyScheduler::set_timesteps(int num_inference_steps) {
  check_steps(num_inference_steps);
  timesteps_ = torch::tensor(consistency_timesteps(config_, num_inference_steps, name_), torch::kInt64);
  num_inference_steps_ = num_inference_steps;
  begin_index_ = 0;
}

torch::Tensor ConsistencyScheduler::add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                                              int call_index) const {
  require_timesteps(call_index);
  return add_noise_ddpm(original, noise, timesteps_[call_index].item<int64_t>());
}

namespace {

class LcmScheduler : public ConsistencyScheduler {
 public:
  explicit LcmScheduler(const SchedulerConfig& config) : ConsistencyScheduler("lcm", config) {}

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& generator) override {
    require_timesteps(call_index);
    const int64_t t = timesteps_[call_index].item<int64_t>();
    const bool last = call_index == num_calls() - 1;
    // On the last step diffusers takes t itself as the previous timestep; it is unused there.
    const int64_t prev_t = last ? t : timesteps_[call_index + 1].item<int64_t>();
    const float alpha = alpha_cumprod_at(t);
    const float beta = 1.0f - alpha;

    const auto [c_skip, c_out] = lcm_boundary_scalings(t, config_.timestep_scaling);

    const torch::Tensor x0 = config_.prediction_type == "v_prediction"
                                 ? std::sqrt(alpha) * sample - std::sqrt(beta) * model_output
                                 : (sample - std::sqrt(beta) * model_output) / std::sqrt(alpha);
    const torch::Tensor denoised = c_out * x0 + c_skip * sample;
    if (last) return {denoised, denoised};
    // The re-noising draw has the shape of the (guidance-folded) prediction: B, not 2B.
    const auto noise = randn_like_from(model_output, generator);
    const float alpha_prev = alpha_cumprod_at(prev_t);
    return {std::sqrt(alpha_prev) * denoised + std::sqrt(1.0f - alpha_prev) * noise, denoised};
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_lcm(const SchedulerConfig& config) {
  return std::make_unique<LcmScheduler>(config);
}

}  // namespace latent::schedulers
