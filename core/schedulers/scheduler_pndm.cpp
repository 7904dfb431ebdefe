// PNDM/PLMS sampler, after diffusers' PNDMScheduler (formula 9 of arXiv:2202.09778).
#include "core/schedulers/scheduler_pndm.h"

#include <algorithm>
#include <cmath>

#include "core/schedulers/noise_schedule.h"
#include "core/util/error.h"

namespace latent::schedulers {
namespace {

constexpr int kPndmOrder = 4;

class PndmScheduler : public Scheduler {
 public:
  explicit PndmScheduler(const SchedulerConfig& config) : Scheduler("pndm", config, TerminalAlpha::finite) {}

  void set_timesteps(int num_inference_steps) override {
    check_steps(num_inference_steps);
    const int n = num_inference_steps;
    std::vector<int64_t> base;  // ascending
    for (const double v : spaced_timesteps(spacing_of(config_, "leading"), n, config_))
      base.push_back(static_cast<int64_t>(np_round(v)));
    std::reverse(base.begin(), base.end());
    const int64_t count = static_cast<int64_t>(base.size());

    prk_timesteps_.clear();
    std::vector<int64_t> plms;
    if (config_.skip_prk_steps) {
      // [ts[:-1], ts[-2:-1], ts[-1:]] reversed: the second timestep is taken twice.
      plms.assign(base.begin(), base.end() - 1);
      if (count >= 2) plms.push_back(base[static_cast<size_t>(count - 2)]);
      plms.push_back(base.back());
      std::reverse(plms.begin(), plms.end());
    } else {
      if (count < kPndmOrder)
        throw Error("PNDM with Runge-Kutta warm-up steps (skip_prk_steps = false) needs at least " +
                    std::to_string(kPndmOrder) + " steps");
      const int64_t half = config_.num_train_timesteps / n / 2;
      std::vector<int64_t> prk;  // the last 4 timesteps, each as t and t + half
      for (int64_t k = count - kPndmOrder; k < count; ++k) {
        prk.push_back(base[static_cast<size_t>(k)]);
        prk.push_back(base[static_cast<size_t>(k)] + half);
      }
      std::vector<int64_t> doubled;  // prk[:-1].repeat(2)[1:-1]
      for (size_t k = 0; k + 1 < prk.size(); ++k) doubled.insert(doubled.end(), 2, prk[k]);
      prk_timesteps_.assign(doubled.begin() + 1, doubled.end() - 1);
      std::reverse(prk_timesteps_.begin(), prk_timesteps_.end());
      plms.assign(base.begin(), base.end() - 3);
      std::reverse(plms.begin(), plms.end());
    }
    std::vector<int64_t> all = prk_timesteps_;
    all.insert(all.end(), plms.begin(), plms.end());
    timesteps_ = torch::tensor(all, torch::kInt64);
    num_inference_steps_ = n;
    begin_index_ = 0;
    ets_.clear();
    counter_ = 0;
    cur_model_output_ = torch::Tensor();
    cur_sample_ = torch::Tensor();
  }

  double init_noise_sigma() const override { return 1.0; }

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& /*generator*/) override {
    require_timesteps(call_index);
    const int64_t t = timesteps_[call_index].item<int64_t>();
    // PNDM itself has no prediction of x0: give the one of this call's noise estimate.
    const float alpha = alpha_cumprod_at(t);
    auto x0 = config_.prediction_type == "v_prediction"
                  ? std::sqrt(alpha) * sample - std::sqrt(1.0f - alpha) * model_output
                  : (sample - std::sqrt(1.0f - alpha) * model_output) / std::sqrt(alpha);
    const bool prk = counter_ < static_cast<int>(prk_timesteps_.size()) && !config_.skip_prk_steps;
    auto prev = prk ? step_prk(model_output, t, sample) : step_plms(model_output, t, sample);
    return {prev, x0};
  }

  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          int call_index) const override {
    require_timesteps(call_index);
    return add_noise_ddpm(original, noise, timesteps_[call_index].item<int64_t>());
  }

 private:
  int64_t step_ratio() const { return config_.num_train_timesteps / num_inference_steps_; }

  torch::Tensor step_prk(const torch::Tensor& model_output_in, int64_t timestep,
                         const torch::Tensor& sample) {
    torch::Tensor model_output = model_output_in;
    const int64_t diff_to_prev = counter_ % 2 ? 0 : step_ratio() / 2;
    const int64_t prev_timestep = timestep - diff_to_prev;
    const int64_t t = prk_timesteps_[static_cast<size_t>(counter_ / 4 * 4)];
    const auto accumulate = [&](double weight) {
      const auto term = weight * model_output;
      cur_model_output_ = cur_model_output_.defined() ? cur_model_output_ + term : term;
    };
    if (counter_ % 4 == 0) {
      accumulate(1.0 / 6);
      ets_.push_back(model_output);
      cur_sample_ = sample;
    } else if ((counter_ - 1) % 4 == 0 || (counter_ - 2) % 4 == 0) {
      accumulate(1.0 / 3);
    } else {
      model_output = cur_model_output_.defined() ? cur_model_output_ + (1.0 / 6) * model_output
                                                 : (1.0 / 6) * model_output;
      cur_model_output_ = torch::Tensor();
    }
    const auto& base = cur_sample_.defined() ? cur_sample_ : sample;
    auto prev = previous_sample(base, t, prev_timestep, model_output);
    ++counter_;
    return prev;
  }

  torch::Tensor step_plms(const torch::Tensor& model_output_in, int64_t timestep_in,
                          const torch::Tensor& sample_in) {
    if (!config_.skip_prk_steps && ets_.size() < 3)
      throw Error("PNDM: the linear multistep phase needs the Runge-Kutta warm-up first");
    torch::Tensor model_output = model_output_in;
    torch::Tensor sample = sample_in;
    int64_t timestep = timestep_in;
    int64_t prev_timestep = timestep - step_ratio();
    if (counter_ != 1) {
      if (ets_.size() > 3) ets_.erase(ets_.begin(), ets_.end() - 3);
      ets_.push_back(model_output);
    } else {
      prev_timestep = timestep;
      timestep = timestep + step_ratio();
    }
    const size_t n = ets_.size();
    const auto e = [&](size_t back) { return ets_[n - back]; };  // e(1) is the newest
    if (n == 1 && counter_ == 0) {
      cur_sample_ = sample;
    } else if (n == 1 && counter_ == 1) {
      model_output = (model_output + e(1)) / 2;
      sample = cur_sample_;
      cur_sample_ = torch::Tensor();
    } else if (n == 2) {
      model_output = (3 * e(1) - e(2)) / 2;
    } else if (n == 3) {
      model_output = (23 * e(1) - 16 * e(2) + 5 * e(3)) / 12;
    } else {
      model_output = (1.0 / 24) * (55 * e(1) - 59 * e(2) + 37 * e(3) - 9 * e(4));
    }
    auto prev = previous_sample(sample, timestep, prev_timestep, model_output);
    ++counter_;
    return prev;
  }

  // x_{t−δ} from x_t and the noise estimate (formula 9).
  torch::Tensor previous_sample(const torch::Tensor& sample, int64_t timestep, int64_t prev_timestep,
                                torch::Tensor model_output) const {
    const float alpha = alpha_cumprod_at(timestep);
    const float alpha_prev = prev_timestep >= 0 ? alpha_cumprod_at(prev_timestep)
                             : config_.set_alpha_to_one ? 1.0f
                                                        : alphas_cumprod_[0].item<float>();
    const float beta = 1.0f - alpha;
    const float beta_prev = 1.0f - alpha_prev;
    if (config_.prediction_type == "v_prediction")
      model_output = std::sqrt(alpha) * model_output + std::sqrt(beta) * sample;
    const float sample_coeff = std::sqrt(alpha_prev / alpha);
    const float denom = alpha * std::sqrt(beta_prev) + std::sqrt(alpha * beta * alpha_prev);
    return sample_coeff * sample - (alpha_prev - alpha) * model_output / denom;
  }

  std::vector<int64_t> prk_timesteps_;
  std::vector<torch::Tensor> ets_;
  int counter_ = 0;
  torch::Tensor cur_model_output_;
  torch::Tensor cur_sample_;
};

}  // namespace

std::unique_ptr<Scheduler> make_pndm(const SchedulerConfig& config) {
  return std::make_unique<PndmScheduler>(config);
}

}  // namespace latent::schedulers
