#pragma once

// What every diffusion pipeline shares: the sampling parameters of a run, the state an
// observer sees after each step, and the checks made before work starts. Text to image
// and image to image both build on this header; neither includes the other.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/pipeline/control_guidance.h"

namespace latent::pipeline {

struct ModelBundle;

// How a prompt is read. Plain: as diffusers reads it (the text as written, cut at 77
// tokens). Weighted: the web UI's language (emphasis, BREAK, 75-token chunks, embeddings).
enum class PromptSyntax { Plain, Weighted };

struct SamplingParams {
  std::vector<std::string> prompts;           // one or more
  std::vector<std::string> negative_prompts;  // empty (all "") or one per prompt
  int images_per_prompt = 1;
  int width = 512;
  int height = 512;
  int steps = 25;
  double guidance_scale = 7.5;
  double guidance_rescale = 0.0;  // diffusers' guidance_rescale; 0 = off
  uint64_t seed = 0;
  std::string sampler = "euler_a";
  // Text-encoder layers skipped from the end, as diffusers counts clip_skip (0 = the last
  // layer). The request counts the web UI's way (1 = the last layer): from_request converts.
  int clip_skip = 0;
  double eta = 0.0;
  // The scheduler config's timestep_spacing when not empty, and its rescale_betas_zero_snr
  // when true (see api::SamplingSettings).
  std::string timestep_spacing;
  bool zero_snr = false;
  // LCM and TCD: the distillation schedule's length (0 = the scheduler config's) and TCD's
  // gamma (see api::SamplingSettings).
  int lcm_original_steps = 0;
  double tcd_gamma = 0.3;
  // The step cache's interval (api::SamplingSettings::step_cache, step_cache.h); 1 = off.
  int step_cache = 1;
  // Plain reads prompts as diffusers does (what the golden cases pin); from_request()
  // asks for the web UI's language: emphasis, BREAK, 75-token chunks, embeddings.
  PromptSyntax prompt_syntax = PromptSyntax::Plain;
  std::string embeddings_dir;  // textual-inversion files for PromptSyntax::Weighted

  // SDXL only. The second text encoder's prompts (diffusers' prompt_2 and
  // negative_prompt_2); empty = the same as `prompts` and `negative_prompts`.
  std::vector<std::string> prompts_2;
  std::vector<std::string> negative_prompts_2;
  // SDXL's micro-conditioning (add_time_ids), in pixels; 0 = the picture's own size.
  int original_width = 0;
  int original_height = 0;
  int crop_left = 0;
  int crop_top = 0;
  int target_width = 0;
  int target_height = 0;
  // The unconditional half's ids (diffusers' negative_original_size, ..._crops_coords_top_left,
  // ..._target_size): used by text to image only when both sizes are given.
  int negative_original_width = 0;
  int negative_original_height = 0;
  int negative_crop_left = 0;
  int negative_crop_top = 0;
  int negative_target_width = 0;
  int negative_target_height = 0;
  // The SDXL refiner's aesthetic-score conditioning (requires_aesthetics_score), diffusers'
  // defaults.
  double aesthetic_score = 6.0;
  double negative_aesthetic_score = 2.5;
  // ControlNets guiding the run (empty: none); the engine loads the nets and prepares
  // their pictures at width×height.
  ControlParams control;

  static SamplingParams from_request(const api::GenerationRequest& request);

  // Images drawn in one run: every prompt times its images.
  int64_t batch() const { return static_cast<int64_t>(prompts.size()) * images_per_prompt; }
  // Classifier-free guidance runs only above 1, exactly where diffusers'
  // do_classifier_free_guidance turns it on; at or below 1 the unconditional half is
  // neither encoded nor predicted.
  bool guided() const { return guidance_scale > 1.0; }
};

// What the observer sees after every model call (scheduler step).
struct StepState {
  int index = 0;  // 0-based over the calls this run makes
  int total = 0;
  double timestep = 0;
  torch::Tensor latents;   // [B,4,h,w] float32 after this step
  torch::Tensor denoised;  // the scheduler's predicted clean latent (x0)
};
using StepObserver = std::function<void(const StepState&)>;

// The run's observer as one pass of several sees it (SDXL's refiner, a hires fix's second
// pass): the pass's step index goes on from the `calls_before` of the passes before it,
// and the total counts the calls of all of them. Empty when `observer` is; it refers to
// `observer`, which must outlive it.
StepObserver pass_observer(const StepObserver& observer, int calls_before, int total);

// The checks every pipeline makes before work starts (sizes, counts, prompts, clip
// skip depth); throws latent::Error naming the value.
void validate_params(const ModelBundle& model, const SamplingParams& params);

}  // namespace latent::pipeline
