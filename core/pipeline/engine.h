#pragma once

// The engine's public face: load a model once, then generate many times. Free of
// LibTorch in its interface; the GUI's worker and the command-line tool use it.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/api/generation_result.h"
#include "core/api/load_options.h"
#include "core/pipeline/fast_preset.h"
#include "core/pipeline/model_probe.h"
#include "core/text/prompt_chunks.h"

namespace latent::pipeline {

using ProgressCallback = std::function<void(const api::StepProgress&)>;

class Engine {
 public:
  Engine();
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads (or keeps, when the options are unchanged) the model. Throws latent::Error.
  void load(const api::LoadOptions& options);
  bool is_loaded() const;
  const api::LoadOptions& load_options() const;
  std::string model_name() const;
  // "Stable Diffusion 1.x", ...; empty without a model.
  std::string model_family() const;
  // What the loaded model predicts, "epsilon" or "v_prediction" (SD 2.x 768-v models), as
  // its scheduler config and LoadOptions::prediction say; empty without a model.
  std::string model_prediction() const;

  // Runs one request. `on_step` is called on the calling thread after each step;
  // when `cancel` becomes true the run stops before the next step and throws
  // latent::Cancelled. Bad parameters throw latent::Error before any work starts.
  api::GenerationResult generate(const api::GenerationRequest& request, const ProgressCallback& on_step = {},
                                 const std::atomic<bool>* cancel = nullptr);

  // Tokens the prompt will occupy (without start/end), for the GUI's counter.
  int count_tokens(const std::string& prompt) const;

  // Tokens and 75-token chunks of the prompt as the model will receive it (emphasis
  // syntax removed, embeddings from `embeddings_dir` counted by their vectors), and why it
  // would be refused, if it would. Never throws; without a model it counts with the
  // bundled tokenizer.
  text::PromptStats prompt_stats(const std::string& prompt,
                                 const std::string& embeddings_dir = "") const;

  // What the loaded model's diffusers pipeline takes when a request leaves it open (see
  // ModelDefaults in model_probe.h). Throws latent::Error without a model.
  ModelDefaults model_defaults() const;
  // The "Fast" preset for the loaded model (sampler, steps, guidance and why; see
  // fast_preset.h). Throws latent::Error without a model.
  FastPreset fast_preset() const;
  // The sampler the loaded model's scheduler config requires ("lcm" for an LCMScheduler,
  // "tcd" for a TCDScheduler), which a request should use unless the user chose another;
  // empty for every other model and without a model.
  std::string own_sampler() const;
  // Whether the loaded model is an SDXL base or refiner; false without a model.
  bool is_sdxl() const;

 private:
  std::string scheduler_class() const;  // the model's scheduler config's _class_name
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Names accepted as SamplingSettings::sampler.
std::vector<std::string> sampler_names();

}  // namespace latent::pipeline
