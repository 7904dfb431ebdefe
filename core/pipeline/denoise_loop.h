#pragma once

// The denoise stage every pipeline shares: the scheduler's calls from a starting index,
// each one scale → predict (with guidance) → step, with the observer and the cancel
// token. Text to image runs it from call 0; image to image starts where `strength` puts
// it; inpainting adds extra channels to the conditioning or blends the known region back
// after each step; a second pass is one more run over the first's latents.

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "core/pipeline/conditioning.h"
#include "core/pipeline/conditioning_schedule.h"
#include "core/pipeline/noise_predictor.h"
#include "core/pipeline/pipeline_params.h"
#include "core/schedulers/scheduler.h"

namespace latent::pipeline {

struct ModelBundle;

// The scheduler for the params, its timesteps set (DPM++ SDE's noise seeded by the seed).
std::unique_ptr<schedulers::Scheduler> make_params_scheduler(const ModelBundle& model,
                                                             const SamplingParams& params);

struct DenoiseSpec {
  GuidedConditioning conditioning;
  // Prompts that change during the run (prompt editing, alternation): when the schedule has
  // several phases, each call uses its phase instead of `conditioning` (which then holds the
  // first call's, for what reads it before the loop). set_text_conditioning fills both.
  ConditioningSchedule schedule;
  NoisePredictor predict;  // empty: the bundle's UNet (unet_noise_predictor)
  int begin = 0;           // first scheduler call
  int end = -1;            // one past the last call; -1 = num_calls() (the base of an
                           // ensemble stops early: diffusers' denoising_end)
  // Called after each scheduler step with the call index; returns the latents to go on with.
  std::function<torch::Tensor(int call, const torch::Tensor& latents)> after_step;
  // Turns the scheduler's predicted clean latents into what the observer sees.
  std::function<torch::Tensor(const torch::Tensor& denoised)> preview;
};

// Gives `spec` the text conditioning of `schedule`: its phase at the first call the spec
// runs as spec.conditioning, and the schedule itself when it changes during the run.
void set_text_conditioning(DenoiseSpec& spec, ConditioningSchedule schedule);

// Runs calls spec.begin .. end−1 (spec.end, or num_calls()) from `latents` ([B,4,h,w]
// float32 on the model's device) and returns the final latents. The observer sees the
// loop's own step count (index from 0, total = calls run). `timesteps_run`, when given,
// receives each call's timestep.
torch::Tensor denoise(ModelBundle& model, schedulers::Scheduler& scheduler, torch::Tensor latents,
                      const DenoiseSpec& spec, at::Generator& generator, const StepObserver& observer,
                      const std::atomic<bool>* cancel, std::vector<double>* timesteps_run = nullptr);

}  // namespace latent::pipeline
