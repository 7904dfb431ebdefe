#include "core/schedulers/noise_schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/util/error.h"

namespace latent::schedulers {

// --- The training schedule ---

namespace {

// diffusers' rescale_zero_terminal_snr, in float32 as it computes it: sqrt(ᾱ) shifted so
// that its last value is 0 and scaled so that its first is unchanged, then turned back
// into betas (β_T becomes 1).
torch::Tensor rescale_zero_terminal_snr(const torch::Tensor& betas) {
  auto alphas_bar_sqrt = torch::cumprod(1.0 - betas, 0).sqrt();
  const auto first = alphas_bar_sqrt[0].clone();
  const auto last = alphas_bar_sqrt[-1].clone();
  alphas_bar_sqrt -= last;
  alphas_bar_sqrt *= first / (first - last);
  const auto alphas_bar = alphas_bar_sqrt.pow(2);
  const auto alphas = torch::cat({alphas_bar.slice(0, 0, 1),
                                  alphas_bar.slice(0, 1) / alphas_bar.slice(0, 0, -1)});
  return 1.0 - alphas;
}

torch::Tensor base_betas(const SchedulerConfig& config) {
  const int64_t steps = config.num_train_timesteps;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  if (!config.trained_betas.empty()) return torch::tensor(config.trained_betas, f32);
  if (config.beta_schedule == "linear")
    return torch::linspace(config.beta_start, config.beta_end, steps, f32);
  if (config.beta_schedule == "scaled_linear")
    return torch::linspace(std::pow(config.beta_start, 0.5), std::pow(config.beta_end, 0.5), steps, f32)
        .pow(2);
  if (config.beta_schedule == "squaredcos_cap_v2") {
    // Glide's cosine schedule, computed in double as diffusers' betas_for_alpha_bar does.
    const double pi = std::acos(-1.0);
    auto alpha_bar = [pi](double t) {
      return std::pow(std::cos((t + 0.008) / 1.008 * pi / 2), 2);
    };
    std::vector<double> betas;
    for (int64_t i = 0; i < steps; ++i) {
      const double t1 = static_cast<double>(i) / static_cast<double>(steps);
      const double t2 = static_cast<double>(i + 1) / static_cast<double>(steps);
      betas.push_back(std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999));
    }
    return torch::tensor(betas, f32);
  }
  throw Error("scheduler config: beta_schedule \"" + config.beta_schedule +
              "\" is not one of scaled_linear, linear, squaredcos_cap_v2");
}

}  // namespace

torch::Tensor make_betas(const SchedulerConfig& config) {
  const auto betas = base_betas(config);
  return config.rescale_betas_zero_snr ? rescale_zero_terminal_snr(betas) : betas;
}

torch::Tensor make_alphas_cumprod(const torch::Tensor& betas) {
  return torch::cumprod(1.0 - betas, 0);
}

torch::Tensor train_sigmas(const torch::Tensor& alphas_cumprod) {
  return ((1 - alphas_cumprod) / alphas_cumprod).pow(0.5);
}

std::vector<float> to_floats(const torch::Tensor& tensor) {
  const auto t = tensor.to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
}

namespace {

// numpy's vectorised float32 log (simd_log_FLOAT, the same for AVX2 and AVX512F): a
// 5/5 rational approximation of log(1 + x) on the reduced mantissa, with fused
// multiply-adds. It differs from libm's logf by up to a few ulps, which moves
// diffusers' interpolated timesteps.
float numpy_logf(float x_in) {
  if (std::isnan(x_in)) return std::numeric_limits<float>::quiet_NaN();
  if (x_in < 0.0f) return -std::numeric_limits<float>::quiet_NaN();
  if (x_in == 0.0f) return -std::numeric_limits<float>::infinity();
  if (std::isinf(x_in)) return std::numeric_limits<float>::infinity();
  constexpr float p[6] = {0.000000000000000000000e+00f, 9.999999999999998702752e-01f,
                          2.112677543073053063722e+00f, 1.480000633576506585156e+00f,
                          3.808837741388407920751e-01f, 2.589979117907922693523e-02f};
  constexpr float q[6] = {1.000000000000000000000e+00f, 2.612677543073109236779e+00f,
                          2.453006071784736363091e+00f, 9.864942958519418960339e-01f,
                          1.546476374983906719538e-01f, 5.875095403124574342950e-03f};
  constexpr float loge2 = 0.693147180559945309417232121458176568f;
  constexpr float sqrt1_2 = 0.707106781186547524400844362104849039f;
  // Exponent and mantissa in [0.5, 1); denormals are scaled by 2^100 first.
  float x = x_in;
  float exponent_offset = 0.0f;
  if (x < std::numeric_limits<float>::min()) {
    x *= 1.2676506002282294e30f;  // 2^100
    exponent_offset = 100.0f;
  }
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  float exponent = static_cast<float>(static_cast<int32_t>(bits >> 23) - 0x7e) - exponent_offset;
  bits = (bits & 0x7fffffu) | (126u << 23);
  float m;
  std::memcpy(&m, &bits, sizeof m);
  if (m <= sqrt1_2) {
    m = m + m;
    exponent = exponent - 1.0f;
  }
  m = m - 1.0f;
  float num = std::fma(p[5], m, p[4]);
  num = std::fma(num, m, p[3]);
  num = std::fma(num, m, p[2]);
  num = std::fma(num, m, p[1]);
  num = std::fma(num, m, p[0]);
  float den = std::fma(q[5], m, q[4]);
  den = std::fma(den, m, q[3]);
  den = std::fma(den, m, q[2]);
  den = std::fma(den, m, q[1]);
  den = std::fma(den, m, q[0]);
  return std::fma(exponent, loge2, num / den);
}

}  // namespace

std::vector<float> log_f32(const std::vector<float>& values) {
  std::vector<float> out(values.size());
  std::transform(values.begin(), values.end(), out.begin(), numpy_logf);
  return out;
}

// --- numpy equivalents ---

std::vector<double> np_linspace(double start, double stop, int num) {
  std::vector<double> y(static_cast<size_t>(std::max(num, 0)));
  if (num <= 0) return y;
  const int div = num - 1;
  const double delta = stop - start;
  if (div > 0) {
    const double step = delta / div;
    for (int i = 0; i < num; ++i)
      y[static_cast<size_t>(i)] =
          (step == 0 ? static_cast<double>(i) / div * delta : static_cast<double>(i) * step) + start;
    y.back() = stop;
  } else {
    y[0] = 0.0 * delta + start;
  }
  return y;
}

std::vector<double> np_arange(double start, double stop, double step) {
  // numpy: length ceil((stop − start) / step); values start + i·(second − first).
  const double count = std::ceil((stop - start) / step);
  std::vector<double> y;
  if (!(count > 0)) return y;
  const double delta = (start + step) - start;
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i)
    y.push_back(i == 0 ? start : i == 1 ? start + step : start + static_cast<double>(i) * delta);
  return y;
}

double np_round(double value) { return std::nearbyint(value); }

std::vector<double> np_interp_train(const std::vector<double>& x, const std::vector<float>& fp) {
  const int64_t n = static_cast<int64_t>(fp.size());
  std::vector<double> out;
  out.reserve(x.size());
  for (const double v : x) {
    if (std::isnan(v)) {
      out.push_back(v);
    } else if (v < 0) {
      out.push_back(fp.front());
    } else if (v > static_cast<double>(n - 1)) {
      out.push_back(fp.back());
    } else {
      const int64_t j = std::min(static_cast<int64_t>(std::floor(v)), n - 1);
      if (j == n - 1 || static_cast<double>(j) == v) {
        out.push_back(fp[static_cast<size_t>(j)]);
      } else {
        const double slope = (static_cast<double>(fp[static_cast<size_t>(j + 1)]) -
                              static_cast<double>(fp[static_cast<size_t>(j)])) /
                             (static_cast<double>(j + 1) - static_cast<double>(j));
        out.push_back(slope * (v - static_cast<double>(j)) + static_cast<double>(fp[static_cast<size_t>(j)]));
      }
    }
  }
  return out;
}

// --- Timestep spacings ---

std::string spacing_of(const SchedulerConfig& config, const char* fallback) {
  return config.timestep_spacing.empty() ? std::string(fallback) : config.timestep_spacing;
}

namespace {

[[noreturn]] void bad_spacing(const std::string& spacing) {
  throw Error("scheduler config: timestep_spacing \"" + spacing +
              "\" is not one of linspace, leading, trailing");
}

}  // namespace

std::vector<double> spaced_timesteps(const std::string& spacing, int num_inference_steps,
                                     const SchedulerConfig& config) {
  const int n = num_inference_steps;
  const int train = config.num_train_timesteps;
  std::vector<double> t;
  if (spacing == "linspace") {
    t = np_linspace(0, train - 1, n);
    std::reverse(t.begin(), t.end());
  } else if (spacing == "leading") {
    const int64_t ratio = train / n;
    for (int i = n - 1; i >= 0; --i)
      t.push_back(static_cast<double>(i * ratio) + config.steps_offset);
  } else if (spacing == "trailing") {
    for (const double v : np_arange(train, 0, -static_cast<double>(train) / n))
      t.push_back(np_round(v) - 1);
  } else {
    bad_spacing(spacing);
  }
  return t;
}

std::vector<double> multistep_timesteps(const std::string& spacing, int num_inference_steps,
                                        const SchedulerConfig& config) {
  const int n = num_inference_steps;
  const int last = config.num_train_timesteps;  // lambda_min_clipped = −inf clips nothing
  std::vector<double> t;
  if (spacing == "linspace") {
    const auto points = np_linspace(0, last - 1, n + 1);
    for (int i = n; i >= 1; --i) t.push_back(np_round(points[static_cast<size_t>(i)]));
  } else if (spacing == "leading") {
    const int64_t ratio = last / (n + 1);
    for (int i = n; i >= 1; --i) t.push_back(static_cast<double>(i * ratio) + config.steps_offset);
  } else if (spacing == "trailing") {
    for (const double v : np_arange(last, 0, -static_cast<double>(config.num_train_timesteps) / n))
      t.push_back(np_round(v) - 1);
  } else {
    bad_spacing(spacing);
  }
  return t;
}

// --- Sigma schedules ---

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int num) {
  const double rho = 7.0;
  const double min_inv_rho = std::pow(sigma_min, 1 / rho);
  const double max_inv_rho = std::pow(sigma_max, 1 / rho);
  std::vector<double> sigmas;
  for (const double r : np_linspace(0, 1, num))
    sigmas.push_back(std::pow(max_inv_rho + r * (min_inv_rho - max_inv_rho), rho));
  return sigmas;
}

namespace {

// The last index whose log sigma is <= log_sigma (0 when none), clipped so that a
// right neighbour exists: numpy's cumsum(dists >= 0).argmax().clip(max=n−2).
int64_t low_index(float log_sigma, const std::vector<float>& log_sigmas) {
  int64_t low = 0;
  for (size_t k = 0; k < log_sigmas.size(); ++k)
    if (log_sigma - log_sigmas[k] >= 0.0f) low = static_cast<int64_t>(k);
  return std::min<int64_t>(low, static_cast<int64_t>(log_sigmas.size()) - 2);
}

float clip01(float w) { return std::isnan(w) ? w : std::min(std::max(w, 0.0f), 1.0f); }

}  // namespace

double sigma_to_t(double sigma, const std::vector<float>& log_sigmas) {
  const double log_sigma = std::log(std::max(sigma, 1e-10));
  // numpy 1.x casts the float64 scalar to the float32 array's type.
  const float ls = static_cast<float>(log_sigma);
  const int64_t low_idx = low_index(ls, log_sigmas);
  const float low = log_sigmas[static_cast<size_t>(low_idx)];
  const float high = log_sigmas[static_cast<size_t>(low_idx + 1)];
  const float w = clip01((low - ls) / (low - high));
  const float one_minus_w = 1.0f - w;
  return static_cast<double>(one_minus_w) * static_cast<double>(low_idx) +
         static_cast<double>(w) * static_cast<double>(low_idx + 1);
}

float sigma_to_t_f32(float sigma, const std::vector<float>& log_sigmas) {
  // np.maximum of a 0-d float32 tensor and a Python float promotes to float64 (both are
  // scalars to numpy 1.x), so the log is a float64 one; torch casts it back to float32.
  const double clamped = std::isnan(sigma) ? static_cast<double>(sigma)
                                           : std::max(static_cast<double>(sigma), 1e-10);
  const float ls = static_cast<float>(std::log(clamped));
  const int64_t low_idx = low_index(ls, log_sigmas);
  const float low = log_sigmas[static_cast<size_t>(low_idx)];
  const float high = log_sigmas[static_cast<size_t>(low_idx + 1)];
  const float w = clip01((low - ls) / (low - high));
  const float left = (1.0f - w) * static_cast<float>(low_idx);
  const float right = w * static_cast<float>(low_idx + 1);
  return left + right;
}

torch::Tensor k_denoised(const torch::Tensor& sample, const torch::Tensor& model_output, float sigma,
                         const std::string& prediction_type) {
  if (prediction_type == "v_prediction") {
    const float c_out = -sigma / input_denominator(sigma);
    return model_output * c_out + sample / (sigma * sigma + 1.0f);
  }
  return sample - model_output * sigma;
}

// --- Scalars through LibTorch's kernels ---

namespace {

torch::Tensor scalar(float x) { return torch::scalar_tensor(x, torch::kFloat32); }

}  // namespace

float torch_log(float x) { return torch::log(scalar(x)).item<float>(); }
float torch_exp(float x) { return torch::exp(scalar(x)).item<float>(); }
float torch_expm1(float x) { return torch::expm1(scalar(x)).item<float>(); }

float input_denominator(float sigma) { return std::sqrt(sigma * sigma + 1.0f); }

AlphaSigma alpha_sigma_of(float sigma) {
  const float alpha = 1.0f / input_denominator(sigma);
  return {alpha, sigma * alpha};
}

}  // namespace latent::schedulers
