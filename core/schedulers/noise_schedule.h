#pragma once

// Shared pieces of the samplers: the training noise schedule, the spacings of inference
// timesteps, sigma schedules and the sigma -> timestep interpolation, each computed with
// the arithmetic diffusers uses (torch float32, numpy float64, or numpy float32 where
// numpy 1.x's value-based casting keeps float32), so that timesteps and sigmas agree with
// diffusers to the last bit or close to it.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/schedulers/scheduler.h"

namespace latent::schedulers {

// --- The training schedule (torch float32, as diffusers builds it) ---

torch::Tensor make_betas(const SchedulerConfig& config);                // [T]
torch::Tensor make_alphas_cumprod(const torch::Tensor& betas);          // [T]
torch::Tensor train_sigmas(const torch::Tensor& alphas_cumprod);        // [T] sqrt((1 − ā) / ā)
std::vector<float> to_floats(const torch::Tensor& tensor);              // float32 values
// numpy's float32 log of an array (diffusers' np.log(sigmas) on a float32 array),
// with numpy's own SIMD algorithm rather than libm's logf.
std::vector<float> log_f32(const std::vector<float>& values);

// --- numpy equivalents (float64) ---

std::vector<double> np_linspace(double start, double stop, int num);
std::vector<double> np_arange(double start, double stop, double step);
double np_round(double value);  // round half to even, as numpy's round
// np.interp(x, arange(len(fp)), fp) with fp float32.
std::vector<double> np_interp_train(const std::vector<double>& x, const std::vector<float>& fp);

// --- Timestep spacings ("linspace", "leading", "trailing") ---

// The sampler's configured spacing, or `fallback` when the config leaves it empty.
std::string spacing_of(const SchedulerConfig& config, const char* fallback);
// N timesteps, descending, float64: linspace(0, T−1, N) (unrounded), leading
// arange(N)·(T//N) + offset, or trailing round(arange(T, 0, −T/N)) − 1. Trailing may
// yield N+1 values for some N, exactly as numpy's arange does.
std::vector<double> spaced_timesteps(const std::string& spacing, int num_inference_steps,
                                     const SchedulerConfig& config);
// The multistep solvers' (DPM-Solver, UniPC) variant: N+1 points with the last dropped.
std::vector<double> multistep_timesteps(const std::string& spacing, int num_inference_steps,
                                        const SchedulerConfig& config);

// --- Sigma schedules ---

// Karras et al. (2022), rho = 7: N sigmas from sigma_max down to sigma_min.
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int num);
// diffusers' _sigma_to_t: log-sigma interpolation into the training timesteps. `sigma`
// float64 against float32 log sigmas; numpy 1.x computes the weight in float32.
double sigma_to_t(double sigma, const std::vector<float>& log_sigmas);
// The same on torch float32 tensors (KDPM2's interpolated timesteps): float32 after the log.
float sigma_to_t_f32(float sigma, const std::vector<float>& log_sigmas);

// The k-diffusion denoiser: x0 from the UNet output at noise level sigma.
torch::Tensor k_denoised(const torch::Tensor& sample, const torch::Tensor& model_output, float sigma,
                         const std::string& prediction_type);

// --- Scalars through LibTorch's kernels, so that their rounding matches diffusers'
// torch arithmetic on 0-d float32 tensors ---

float torch_log(float x);
float torch_exp(float x);
float torch_expm1(float x);

// (alpha_t, sigma_t) of a VP sample at noise level sigma: 1/sqrt(σ²+1), σ·alpha_t.
struct AlphaSigma {
  float alpha;
  float sigma;
};
AlphaSigma alpha_sigma_of(float sigma);
// sqrt(σ² + 1): the k-diffusion samplers divide the UNet input by it.
float input_denominator(float sigma);

}  // namespace latent::schedulers
