// UniPC sampler, after diffusers' UniPCMultistepScheduler with solver_order 2,
// solver_type "bh2", predict_x0, lower_order_final (arXiv:2302.04867).
#include "core/schedulers/scheduler_unipc.h"

#include <algorithm>
#include <cmath>

#include "core/schedulers/noise_schedule.h"

namespace latent::schedulers {
namespace {

constexpr int kSolverOrder = 2;

class UniPcScheduler : public Scheduler {
 public:
  explicit UniPcScheduler(const SchedulerConfig& config) : Scheduler("unipc", config, TerminalAlpha::finite) {}

  void set_timesteps(int num_inference_steps) override {
    check_steps(num_inference_steps);
    const std::vector<double> t =
        multistep_timesteps(spacing_of(config_, "linspace"), num_inference_steps, config_);
    std::vector<double> sigmas = np_interp_train(t, to_floats(train_sigmas(alphas_cumprod_)));
    sigmas.push_back(0.0);  // final_sigmas_type "zero"
    set_sigmas(torch::tensor(sigmas, torch::kFloat64).to(torch::kFloat32));
    std::vector<int64_t> ints;
    for (const double v : t) ints.push_back(static_cast<int64_t>(v));
    timesteps_ = torch::tensor(ints, torch::kInt64);
    num_inference_steps_ = static_cast<int>(ints.size());
    begin_index_ = 0;
    outputs_.clear();
    lower_order_nums_ = 0;
    this_order_ = 0;
    last_sample_ = torch::Tensor();
  }

  double init_noise_sigma() const override { return 1.0; }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample_in,
                  at::Generator& /*generator*/) override {
    require_timesteps(call_index);
    const int i = call_index;
    const AlphaSigma s = alpha_sigma_of(sigma_at(i));
    const auto x0 = config_.prediction_type == "v_prediction"
                        ? s.alpha * sample_in - s.sigma * model_output
                        : (sample_in - s.sigma * model_output) / s.alpha;
    torch::Tensor sample = sample_in;
    if (i > 0 && last_sample_.defined()) sample = corrector(x0, i, last_sample_, this_order_);

    outputs_.push_back(x0);
    if (outputs_.size() > kSolverOrder) outputs_.erase(outputs_.begin());
    const int order = std::min(kSolverOrder, num_calls() - i);  // lower_order_final
    this_order_ = std::min(order, lower_order_nums_ + 1);
    last_sample_ = sample;
    auto prev = predictor(i, sample, this_order_);
    if (lower_order_nums_ < kSolverOrder) ++lower_order_nums_;
    return {prev, x0};
  }

  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override {
    require_timesteps(call_index);
    const AlphaSigma s = alpha_sigma_of(sigma_at(call_index));
    return s.alpha * original + s.sigma * noise;
  }

 private:
  float lambda_at(int index) const {
    const AlphaSigma s = alpha_sigma_of(sigma_at(index));
    return torch_log(s.alpha) - torch_log(s.sigma);
  }

  // h·φ_1 = expm1(−h) and the right-hand side b of UniC's linear system, for `order` terms.
  struct Phi {
    float hh;
    float h_phi_1;
    float b_h;
    std::vector<float> b;
  };
  static Phi phi_terms(float h, int order) {
    Phi p;
    p.hh = -h;  // predict_x0
    p.h_phi_1 = torch_expm1(p.hh);
    float h_phi_k = p.h_phi_1 / p.hh - 1.0f;
    int factorial = 1;
    p.b_h = torch_expm1(p.hh);  // bh2
    for (int k = 1; k <= order; ++k) {
      p.b.push_back(h_phi_k * static_cast<float>(factorial) / p.b_h);
      factorial *= k + 1;
      h_phi_k = h_phi_k / p.hh - static_cast<float>(1.0 / factorial);
    }
    return p;
  }

  // UniP-B(h): x at call i+1 from x at call i and the stored model outputs.
  torch::Tensor predictor(int i, const torch::Tensor& x, int order) const {
    const AlphaSigma t = alpha_sigma_of(sigma_at(i + 1));
    const AlphaSigma s0 = alpha_sigma_of(sigma_at(i));
    const float lambda_s0 = lambda_at(i);
    const float h = lambda_at(i + 1) - lambda_s0;
    const torch::Tensor& m0 = outputs_.back();
    const Phi p = phi_terms(h, order);
    auto x_t = t.sigma / s0.sigma * x - t.alpha * p.h_phi_1 * m0;
    if (order >= 2) {
      const float rk = (lambda_at(i - 1) - lambda_s0) / h;
      const auto d1 = (outputs_[outputs_.size() - 2] - m0) / rk;
      x_t = x_t - t.alpha * p.b_h * (0.5f * d1);  // rhos_p = [0.5] for order 2
    }
    return x_t.to(x.scalar_type());
  }

  // UniC-B(h): corrects the sample of call i with the model output there.
  torch::Tensor corrector(const torch::Tensor& model_t, int i, const torch::Tensor& last_sample,
                          int order) const {
    const AlphaSigma t = alpha_sigma_of(sigma_at(i));
    const AlphaSigma s0 = alpha_sigma_of(sigma_at(i - 1));
    const float lambda_s0 = lambda_at(i - 1);
    const float h = lambda_at(i) - lambda_s0;
    const torch::Tensor& m0 = outputs_.back();
    const Phi p = phi_terms(h, order);
    const auto x_t_ = t.sigma / s0.sigma * last_sample - t.alpha * p.h_phi_1 * m0;
    const auto d1_t = model_t - m0;
    torch::Tensor x_t;
    if (order == 1) {
      x_t = x_t_ - t.alpha * p.b_h * (0.5f * d1_t);
    } else {
      const float rk = (lambda_at(i - 2) - lambda_s0) / h;
      const auto d1 = (outputs_[outputs_.size() - 2] - m0) / rk;
      // rhos_c solves [[1, 1], [rk, 1]]·ρ = b, as diffusers does with torch.linalg.solve.
      const auto r = torch::tensor({1.0f, 1.0f, rk, 1.0f}, torch::kFloat32).reshape({2, 2});
      const auto b = torch::tensor({p.b[0], p.b[1]}, torch::kFloat32);
      const auto rhos = to_floats(at::linalg_solve(r, b));
      x_t = x_t_ - t.alpha * p.b_h * (rhos[0] * d1 + rhos[1] * d1_t);
    }
    return x_t.to(last_sample.scalar_type());
  }

  std::vector<torch::Tensor> outputs_;  // converted model outputs, newest last
  int lower_order_nums_ = 0;
  int this_order_ = 0;
  torch::Tensor last_sample_;
};

}  // namespace

std::unique_ptr<Scheduler> make_unipc(const SchedulerConfig& config) {
  return std::make_unique<UniPcScheduler>(config);
}

}  // namespace latent::schedulers
