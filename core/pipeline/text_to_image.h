#pragma once

// The Stable Diffusion text-to-image loop, step for step as diffusers'
// StableDiffusionPipeline: encode prompts, draw seeded noise, walk the scheduler's
// timesteps with classifier-free guidance, decode with the VAE.

#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/pipeline/generation_request.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/prompt_encoder.h"

namespace latent::pipeline {

struct TextToImageParams {
  std::vector<std::string> prompts;           // one or more
  std::vector<std::string> negative_prompts;  // empty (all "") or one per prompt
  int images_per_prompt = 1;
  int width = 512;
  int height = 512;
  int steps = 25;
  double guidance_scale = 7.5;
  uint64_t seed = 0;
  std::string sampler = "euler_a";
  int clip_skip = 0;
  double eta = 0.0;
  // Plain reads prompts as diffusers does (what the golden cases pin); from_request()
  // asks for the web UI's language: emphasis, BREAK, 75-token chunks, embeddings.
  PromptSyntax prompt_syntax = PromptSyntax::Plain;
  std::string embeddings_dir;  // textual-inversion files for PromptSyntax::Weighted

  static TextToImageParams from_request(const GenerationRequest& request);
};

// What the observer sees after every UNet call (scheduler step).
struct StepState {
  int index = 0;  // 0-based
  int total = 0;
  double timestep = 0;
  torch::Tensor latents;   // [B,4,h,w] float32 after this step
  torch::Tensor denoised;  // the scheduler's predicted clean latent (x0)
};
using StepObserver = std::function<void(const StepState&)>;

struct TextToImageOutput {
  torch::Tensor prompt_embeds;  // [(2)B,77·k,D] as fed to the UNet ([uncond; cond] with guidance)
  torch::Tensor init_noise;     // [B,4,h,w], the generator's first draw
  std::vector<double> timesteps;
  torch::Tensor latents;        // final, [B,4,h,w] float32
  torch::Tensor images;         // [B,H,W,3] uint8
};

// Encodes texts padded to 77 tokens → [N,77,D] in float32 on the model's device, as
// diffusers does (PromptSyntax::Plain; encode_weighted_prompts() reads the web UI's language).
torch::Tensor encode_prompts(ModelBundle& model, const std::vector<std::string>& texts, int clip_skip);

// Latents → [B,H,W,3] uint8 through the VAE (divides by the scaling factor first).
torch::Tensor decode_latents(ModelBundle& model, const torch::Tensor& latents);

// Runs the whole loop. The observer is called after each step; when `cancel` turns
// true the loop stops before the next step and throws latent::Cancelled.
TextToImageOutput text_to_image(ModelBundle& model, const TextToImageParams& params,
                                const StepObserver& observer = {},
                                const std::atomic<bool>* cancel = nullptr);

}  // namespace latent::pipeline
