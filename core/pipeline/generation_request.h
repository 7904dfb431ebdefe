#pragma once

// The engine's vocabulary as plain values: what to generate, what comes back, and
// what is reported along the way. Free of LibTorch so the GUI can include it.

#include <cstdint>
#include <string>
#include <vector>

namespace latent::pipeline {

// How the network weights are held and where they run.
struct LoadOptions {
  std::string model_path;  // diffusers folder or single-file .safetensors checkpoint
  std::string config_dir;  // configs for a single file; empty = bundled SD 1.5 configs
  std::string device = "cpu";  // "cpu" or "cuda"
  std::string dtype = "fp32";  // "fp32", "bf16" or "fp16"

  bool operator==(const LoadOptions& other) const {
    return model_path == other.model_path && config_dir == other.config_dir &&
           device == other.device && dtype == other.dtype;
  }
  bool operator!=(const LoadOptions& other) const { return !(*this == other); }
};

struct GenerationRequest {
  std::string prompt;
  std::string negative_prompt;
  int width = 512;
  int height = 512;
  int steps = 25;
  double guidance_scale = 7.5;
  uint64_t seed = 0;
  std::string sampler = "euler_a";  // a name from latent::schedulers::scheduler_names()
  int batch_size = 1;  // images drawn together from one seed, as diffusers' num_images_per_prompt
  int clip_skip = 0;   // 0 = last layer; k = k layers earlier (diffusers' meaning)
  double eta = 0.0;    // DDIM only

  // Previews: a cheap latent->RGB approximation every step when `approximate_preview`,
  // and a real VAE decode every `vae_preview_every` steps (0 = never, -1 = automatic cadence).
  bool approximate_preview = true;
  int vae_preview_every = -1;
};

// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;

  bool empty() const { return rgb.empty(); }
};

// Reported after every denoising step.
struct StepProgress {
  int step = 0;         // 1-based index of the UNet call just finished
  int total_steps = 0;  // UNet calls in the whole run
  double timestep = 0;
  double seconds_elapsed = 0;
  double seconds_per_step = 0;
  double seconds_left = 0;
  // The predicted clean image of each batch item; empty when no preview was made this step.
  std::vector<Image> previews;
  bool previews_are_vae_decodes = false;
};

struct GenerationResult {
  GenerationRequest request;
  std::vector<Image> images;
  std::vector<uint64_t> seeds;  // the seed each image came from (all equal: one draw per batch)
  std::string model_name;       // file or folder name of the checkpoint
  std::string model_hash;       // first 10 hex digits of SHA-256 over the weights file(s)
  double seconds_total = 0;
  double seconds_in_previews = 0;
};

}  // namespace latent::pipeline
