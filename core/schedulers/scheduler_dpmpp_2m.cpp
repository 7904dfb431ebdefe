// DPM-Solver++(2M) sampler, after diffusers' DPMSolverMultistepScheduler with
// solver_order 2, solver_type "midpoint", final_sigmas_type "zero" (arXiv:2211.01095).
#include "core/schedulers/scheduler_dpmpp_2m.h"

#include <cmath>

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/random.h"

namespace latent::schedulers {
namespace {

const char* name_of(DpmVariant v) {
  switch (v) {
    case DpmVariant::karras: return "dpmpp_2m_karras";
    case DpmVariant::sde: return "dpmpp_2m_sde";
    default: return "dpmpp_2m";
  }
}

class DpmppMultistepScheduler : public Scheduler {
 public:
  DpmppMultistepScheduler(const SchedulerConfig& config, DpmVariant variant)
      : Scheduler(name_of(variant), config, TerminalAlpha::finite), variant_(variant) {}

  void set_timesteps(int num_inference_steps) override {
    check_steps(num_inference_steps);
    const int n = num_inference_steps;
    std::vector<double> t = multistep_timesteps(spacing_of(config_, "linspace"), n, config_);
    const std::vector<float> train = to_floats(train_sigmas(alphas_cumprod_));
    std::vector<double> sigmas;
    if (variant_ == DpmVariant::karras) {
      sigmas = karras_sigmas(train.front(), train.back(), n);
      const std::vector<float> log_sigmas = log_f32(train);
      t.clear();
      for (const double s : sigmas) {
        const double v = sigma_to_t(s, log_sigmas);
        t.push_back(config_.beta_schedule == "squaredcos_cap_v2" ? v : np_round(v));
      }
    } else {
      sigmas = np_interp_train(t, train);
    }
    sigmas.push_back(0.0);  // final_sigmas_type "zero"
    set_sigmas(torch::tensor(sigmas, torch::kFloat64).to(torch::kFloat32));
    std::vector<int64_t> ints;
    for (const double v : t) ints.push_back(static_cast<int64_t>(v));
    timesteps_ = torch::tensor(ints, torch::kInt64);
    num_inference_steps_ = static_cast<int>(ints.size());
    begin_index_ = 0;
    previous_output_ = torch::Tensor();
    lower_order_nums_ = 0;
  }

  double init_noise_sigma() const override { return 1.0; }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& generator) override {
    require_timesteps(call_index);
    const int i = call_index;
    // The last step is first order whenever the final sigma is zero.
    const bool lower_order_final = i == num_calls() - 1;

    const AlphaSigma s0 = alpha_sigma_of(sigma_at(i));
    const auto x0 = config_.prediction_type == "v_prediction"
                        ? s0.alpha * sample - s0.sigma * model_output
                        : (sample - s0.sigma * model_output) / s0.alpha;
    const auto x = sample.to(torch::kFloat32);
    torch::Tensor noise;
    if (variant_ == DpmVariant::sde) noise = randn_cpu(model_output.sizes(), generator).to(x.device());

    torch::Tensor prev;
    if (lower_order_nums_ < 1 || lower_order_final)
      prev = first_order(x0, i, x, noise);
    else
      prev = second_order(x0, previous_output_, i, x, noise);
    if (lower_order_nums_ < 2) ++lower_order_nums_;
    previous_output_ = x0;
    return {prev.to(x0.scalar_type()), x0};
  }

  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override {
    require_timesteps(call_index);
    const AlphaSigma s = alpha_sigma_of(sigma_at(call_index));
    return s.alpha * original + s.sigma * noise;
  }

 private:
  float lambda_of(const AlphaSigma& s) const { return torch_log(s.alpha) - torch_log(s.sigma); }

  torch::Tensor first_order(const torch::Tensor& m0, int i, const torch::Tensor& x,
                            const torch::Tensor& noise) const {
    const AlphaSigma t = alpha_sigma_of(sigma_at(i + 1));
    const AlphaSigma s = alpha_sigma_of(sigma_at(i));
    const float h = lambda_of(t) - lambda_of(s);
    if (variant_ == DpmVariant::sde) {
      const float decay = torch_exp(-2.0f * h);
      return (t.sigma / s.sigma * torch_exp(-h)) * x + (t.alpha * (1.0f - decay)) * m0 +
             t.sigma * std::sqrt(1.0f - decay) * noise;
    }
    return (t.sigma / s.sigma) * x - (t.alpha * (torch_exp(-h) - 1.0f)) * m0;
  }

  torch::Tensor second_order(const torch::Tensor& m0, const torch::Tensor& m1, int i,
                             const torch::Tensor& x, const torch::Tensor& noise) const {
    const AlphaSigma t = alpha_sigma_of(sigma_at(i + 1));
    const AlphaSigma s0 = alpha_sigma_of(sigma_at(i));
    const AlphaSigma s1 = alpha_sigma_of(sigma_at(i - 1));
    const float lambda_t = lambda_of(t);
    const float lambda_s0 = lambda_of(s0);
    const float lambda_s1 = lambda_of(s1);
    const float h = lambda_t - lambda_s0;
    const float h_0 = lambda_s0 - lambda_s1;
    const float r0 = h_0 / h;
    const auto d1 = (1.0f / r0) * (m0 - m1);
    if (variant_ == DpmVariant::sde) {
      const float decay = torch_exp(-2.0f * h);
      const float c = t.alpha * (1.0f - decay);
      return (t.sigma / s0.sigma * torch_exp(-h)) * x + c * m0 + 0.5f * c * d1 +
             t.sigma * std::sqrt(1.0f - decay) * noise;
    }
    const float c = t.alpha * (torch_exp(-h) - 1.0f);
    return (t.sigma / s0.sigma) * x - c * m0 - 0.5f * c * d1;
  }

  DpmVariant variant_;
  torch::Tensor previous_output_;
  int lower_order_nums_ = 0;
};

}  // namespace

std::unique_ptr<Scheduler> make_dpmpp_2m(const SchedulerConfig& config, DpmVariant variant) {
  return std::make_unique<DpmppMultistepScheduler>(config, variant);
}

}  // namespace latent::schedulers
