#pragma once

// The samplers' common interface, in the manner of diffusers' SchedulerMixin: the
// denoising loop is the same for every sampler,
//
//   s->set_timesteps(n);
//   x = noise * s->init_noise_sigma();
//   for (int i = s->begin_index(); i < s->num_calls(); ++i) {
//     xin = s->scale_model_input(x, i);
//     eps = unet(xin, s->timesteps()[i]);
//     x = s->step(eps, i, x, generator).prev_sample;
//   }
//
// where `i` indexes the UNet calls (diffusers' step_index). Calls must come in order:
// multistep samplers keep the previous model outputs. Ancestral and SDE samplers draw
// their noise from `generator` (a CPU generator, float32, then moved to the sample's
// device), in the order diffusers draws it.

#include <torch/torch.h>

#include <QJsonObject>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace latent::schedulers {

// A model's scheduler/scheduler_config.json. Defaults are Stable Diffusion 1.5's.
struct SchedulerConfig {
  int num_train_timesteps = 1000;
  double beta_start = 0.00085;
  double beta_end = 0.012;
  std::string beta_schedule = "scaled_linear";  // "scaled_linear", "linear" or "squaredcos_cap_v2"
  std::vector<double> trained_betas;            // empty: computed from beta_schedule
  int steps_offset = 1;
  bool set_alpha_to_one = false;
  bool skip_prk_steps = true;
  bool clip_sample = false;  // DDIM and Heun only
  double clip_sample_range = 1.0;
  std::string prediction_type = "epsilon";  // "epsilon" or "v_prediction"
  std::string timestep_spacing;  // "linspace", "leading", "trailing"; empty: each sampler's default
  // Zero terminal SNR (Lin et al. 2023, diffusers' rescale_zero_terminal_snr): the betas
  // rescaled so that the last training step is pure noise (ᾱ = 0). For v-prediction
  // models trained that way; see TerminalAlpha for the samplers that cannot take ᾱ = 0.
  bool rescale_betas_zero_snr = false;

  double eta = 0.0;  // DDIM: 0 deterministic, 1 as stochastic as DDPM
  // LCM and TCD: the length of the schedule the model was distilled on, and the scale of
  // the timestep in the consistency boundary conditions (LCMScheduler's config keys).
  int original_inference_steps = 50;
  double timestep_scaling = 10.0;
  // TCD's gamma (diffusers passes the pipeline's eta as it): 0 deterministic, 1 fully
  // stochastic. 0.3 is what the TCD authors recommend.
  double gamma = 0.3;
  // The scheduler class the model ships with (_class_name), e.g. "LCMScheduler"; empty
  // when the config does not say.
  std::string class_name;
  // DPM++ SDE's Brownian tree seed; unset: the seed the step generator was seeded with
  // (which is what diffusers does with noise_sampler_seed = seed).
  std::optional<uint64_t> noise_sampler_seed;

  // Reads diffusers' keys; absent keys keep the defaults above. Throws latent::Error on
  // values of the wrong type or ones this program does not implement.
  static SchedulerConfig from_json(const QJsonObject& json);
  // Checks the values; throws latent::Error naming the first bad one.
  void validate() const;
};

struct StepOutput {
  torch::Tensor prev_sample;           // the latents for the next call
  torch::Tensor pred_original_sample;  // the predicted clean latents (a free preview)
};

// What a zero-SNR schedule leaves at its last training step. DDIM (and the samplers in
// timestep space that never divide by ᾱ there) keep ᾱ = 0; the samplers whose noise level
// is σ = sqrt((1 − ᾱ) / ᾱ), and PNDM, which divides by ᾱ, set it to 2⁻²⁴ as diffusers'
// Euler, Euler a, DPM-Solver and UniPC do, so that σ_max (4096) stays finite.
enum class TerminalAlpha { zero, finite };

class Scheduler {
 public:
  Scheduler(std::string name, SchedulerConfig config,
            TerminalAlpha terminal_alpha = TerminalAlpha::zero);
  virtual ~Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  const std::string& name() const { return name_; }
  const SchedulerConfig& config() const { return config_; }

  // Computes the timesteps and sigmas for `num_inference_steps` and resets all state of
  // a previous run. Throws latent::Error when the count is not usable.
  virtual void set_timesteps(int num_inference_steps) = 0;

  // One entry per UNet call, in diffusers' dtype (float32 for the Karras-style samplers,
  // int64 for DDIM, PNDM, DPM++ 2M and UniPC, float64 for DPM++ SDE). CPU tensor.
  const torch::Tensor& timesteps() const { return timesteps_; }
  double timestep(int call_index) const;
  int num_calls() const { return static_cast<int>(timesteps_.numel()); }
  int num_inference_steps() const { return num_inference_steps_; }
  // UNet calls per inference step (2 for Heun, KDPM2 and DPM++ SDE).
  virtual int order() const { return 1; }

  // The noise level of the schedule (float32 CPU); undefined for DDIM and PNDM.
  const torch::Tensor& sigmas() const { return sigmas_; }
  const torch::Tensor& betas() const { return betas_; }
  const torch::Tensor& alphas_cumprod() const { return alphas_cumprod_; }

  // Scale of the initial noise.
  virtual double init_noise_sigma() const = 0;
  virtual torch::Tensor scale_model_input(const torch::Tensor& sample, int call_index);
  virtual StepOutput step(const torch::Tensor& model_output, int call_index,
                          const torch::Tensor& sample, at::Generator& generator) = 0;

  // Image-to-image: noise `original` to the level the call `call_index` expects.
  virtual torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                                  int call_index) const = 0;
  // The first call of an image-to-image run of `strength` in [0, 1] (diffusers'
  // get_timesteps: t_start * order); equals num_calls() when nothing is left to do.
  int begin_index_for_strength(double strength) const;
  // Where the next run's loop starts (0 unless set_begin_index was called).
  int begin_index() const { return begin_index_; }
  void set_begin_index(int call_index);

 protected:
  void require_timesteps(int call_index) const;  // throws latent::Error when out of range
  float sigma_at(int index) const { return sigma_values_.at(static_cast<size_t>(index)); }
  void set_sigmas(const torch::Tensor& sigmas);  // float32 [n]; also caches the values
  float alpha_cumprod_at(int64_t timestep) const;
  // diffusers' DDPM add_noise: sqrt(a)·x + sqrt(1 − a)·noise at an integer timestep.
  torch::Tensor add_noise_ddpm(const torch::Tensor& original, const torch::Tensor& noise,
                               int64_t timestep) const;
  static void check_steps(int num_inference_steps);

  std::string name_;
  SchedulerConfig config_;
  torch::Tensor betas_;           // [T] float32
  torch::Tensor alphas_cumprod_;  // [T] float32
  torch::Tensor timesteps_;
  torch::Tensor sigmas_;
  int num_inference_steps_ = 0;
  int begin_index_ = 0;

 private:
  std::vector<float> sigma_values_;
  std::vector<float> alphas_cumprod_values_;
};

// The command-line names, in a stable order.
std::vector<std::string> scheduler_names();

// A sampler by command-line name (see scheduler_names()); throws latent::Error listing
// the valid names for any other.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name,
                                          const SchedulerConfig& config = {});

}  // namespace latent::schedulers
