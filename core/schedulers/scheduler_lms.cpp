// K-LMS sampler, after diffusers' LMSDiscreteScheduler (k-diffusion sample_lms).
#include "core/schedulers/scheduler_lms.h"

#include <algorithm>
#include <deque>

#include "core/schedulers/noise_schedule.h"
#include "core/schedulers/sigma_scheduler.h"
#include "core/util/error.h"

namespace latent::schedulers {
namespace {

constexpr int kMaxOrder = 4;

class LmsScheduler : public SigmaScheduler {
 public:
  LmsScheduler(const SchedulerConfig& config, bool karras)
      : SigmaScheduler(karras ? "lms_karras" : "lms", config, karras) {}

  StepOutput step(const torch::Tensor& model_output, int call_index, const torch::Tensor& sample,
                  at::Generator& /*generator*/) override {
    require_timesteps(call_index);
    const float sigma = sigma_at(call_index);
    auto denoised = k_denoised(sample, model_output, sigma, config_.prediction_type);
    derivatives_.push_back((sample - denoised) / sigma);
    if (derivatives_.size() > kMaxOrder) derivatives_.pop_front();

    const int order = std::min(call_index + 1, kMaxOrder);
    const auto coeffs = lms_coefficients(sigma_doubles_, call_index, order);
    // Σ_j coeff_j · derivative_{i−j}, newest first (zip stops at the shorter list).
    torch::Tensor sum;
    const size_t terms = std::min(coeffs.size(), derivatives_.size());
    for (size_t j = 0; j < terms; ++j) {
      const auto term = derivatives_[derivatives_.size() - 1 - j] * coeffs[j];
      sum = sum.defined() ? sum + term : term;
    }
    return {sample + sum, denoised};
  }

 private:
  // lms_coefficients integrates in double over the calls' float32 sigmas.
  void lay_out_schedule(const SigmaSchedule& schedule, const torch::Tensor& sigmas) override {
    SigmaScheduler::lay_out_schedule(schedule, sigmas);
    sigma_doubles_.clear();
    for (const float v : to_floats(sigmas_)) sigma_doubles_.push_back(v);
  }

  void reset_state() override { derivatives_.clear(); }

  std::vector<double> sigma_doubles_;
  std::deque<torch::Tensor> derivatives_;
};

}  // namespace

std::vector<double> lms_coefficients(const std::vector<double>& sigmas, int step_index, int order) {
  if (step_index < order - 1 || step_index + 1 >= static_cast<int>(sigmas.size()))
    throw Error("LMS: step " + std::to_string(step_index) + " of order " + std::to_string(order) +
                " does not fit a schedule of " + std::to_string(sigmas.size()) + " sigmas");
  const auto s = [&](int i) { return sigmas[static_cast<size_t>(i)]; };
  const double a = s(step_index);
  const double b = s(step_index + 1);
  // 4-point Gauss–Legendre on [−1, 1]: exact up to degree 7.
  static const double nodes[4] = {-0.86113631159405257522, -0.33998104358485626480,
                                  0.33998104358485626480, 0.86113631159405257522};
  static const double weights[4] = {0.34785484513745385737, 0.65214515486254614263,
                                    0.65214515486254614263, 0.34785484513745385737};
  const double half = (b - a) / 2;
  const double mid = (a + b) / 2;
  std::vector<double> coeffs;
  for (int j = 0; j < order; ++j) {
    double integral = 0;
    for (int q = 0; q < 4; ++q) {
      const double tau = mid + half * nodes[q];
      double prod = 1.0;
      for (int k = 0; k < order; ++k) {
        if (k == j) continue;
        prod *= (tau - s(step_index - k)) / (s(step_index - j) - s(step_index - k));
      }
      integral += weights[q] * prod;
    }
    coeffs.push_back(integral * half);
  }
  return coeffs;
}

std::unique_ptr<Scheduler> make_lms(const SchedulerConfig& config, bool karras_sigmas) {
  return std::make_unique<LmsScheduler>(config, karras_sigmas);
}

}  // namespace latent::schedulers
