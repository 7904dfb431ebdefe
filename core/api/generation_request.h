#pragma once

// What to generate, as plain values grouped by concern. Free of LibTorch so the GUI,
// the command-line tool and the metadata readers and writers share it. What the engine
// computes along the way (hashes, the seeds it used) comes back in GenerationResult.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/api/image.h"

namespace latent::api {

// How the sampler walks from noise to a picture.
struct SamplingSettings {
  std::string sampler = "euler_a";  // a name from latent::schedulers::scheduler_names()
  int steps = 25;
  double guidance_scale = 7.5;
  // diffusers' guidance_rescale (every family): the guided prediction's spread pulled back
  // towards the conditional one's by this fraction; 0 = off.
  double guidance_rescale = 0.0;
  uint64_t seed = 0;
  double eta = 0.0;  // DDIM only
  // LCM and TCD: the length of the schedule the model was distilled on (diffusers'
  // original_inference_steps); 0 = the model's scheduler config (50 when it has none).
  int lcm_original_steps = 0;
  // TCD's gamma, its stochasticity from 0 (deterministic) to 1.
  double tcd_gamma = 0.3;
  // Counted as the web UI counts it (and as "Clip skip" in the metadata): 1 = the text
  // encoder's last layer, 2 = the penultimate one, and so on.
  int clip_skip = 1;
  // How the steps are spread over the training timesteps (diffusers' timestep_spacing):
  // "leading", "linspace" or "trailing"; empty = the model's scheduler config, else each
  // sampler's default.
  std::string timestep_spacing;
  // Zero terminal SNR (diffusers' rescale_betas_zero_snr): the noise schedule rescaled so
  // that its last step is pure noise, for v-prediction models trained that way; usually
  // with "trailing" spacing and a guidance rescale.
  bool zero_snr = false;
  // The step cache ("Faster, approximate"; DeepCache): every `step_cache`-th step runs the
  // whole UNet and the steps between reuse its deep features, the first and last step always
  // in full. 1 = off (every step in full); 3 is about twice as fast.
  int step_cache = 1;
};

// The picture's size, and how many are drawn together from one seed (diffusers'
// num_images_per_prompt).
struct SizeSettings {
  int width = 512;
  int height = 512;
  int batch_size = 1;
};

// A LoRA adapter applied for one request, scaled by `multiplier` (negative allowed).
struct LoraSpec {
  std::string path;
  double multiplier = 1.0;
};

struct LoraSettings {
  std::vector<LoraSpec> adapters;
  // Folder in which `<lora:NAME:MULTIPLIER>` tags of the prompt are resolved (and adapter
  // paths that are bare names); empty = tags stay in the prompt as text.
  std::string folder;
  // Apply the matching part of LoRAs that have keys this model lacks (with a warning)
  // instead of refusing them.
  bool allow_partial = false;
};

// Image to image: start from a picture, given as a file (`path`) or as pixels (`pixels`,
// used when `path` is empty), instead of pure noise.
struct InitImageSettings {
  std::string path;
  std::shared_ptr<const Image> pixels;
  double strength = 0.75;  // 0 keeps the picture (a VAE round trip), 1 repaints it from noise
  std::string resize_mode = "resize";  // fitting the picture to the size: resize, crop or pad

  bool given() const { return !path.empty() || (pixels && !pixels->empty()); }
};

// Inpainting: which part of the starting picture to repaint.
struct MaskSettings {
  std::string path;  // a mask file or pixels (luma is used), white = repaint
  std::shared_ptr<const Image> pixels;
  int blur = 4;  // feathering of the mask's edge, in pixels
  // Repaint only the masked area: cut it out with `only_masked_padding` pixels of context
  // around it, work on it at the request's size, paste it back into the full picture.
  bool only_masked = false;
  int only_masked_padding = 32;

  bool given() const { return !path.empty() || (pixels && !pixels->empty()); }
};

// Outpainting: grow the canvas by these many pixels per side and repaint the new area.
struct OutpaintSettings {
  int left = 0;
  int top = 0;
  int right = 0;
  int bottom = 0;

  bool any() const { return left > 0 || top > 0 || right > 0 || bottom > 0; }
};

// SDXL's size and crop conditioning (diffusers' original_size, crops_coords_top_left,
// target_size; 0 = the picture's own size) and the refiner's aesthetic scores.
struct SdxlConditioning {
  int original_width = 0;
  int original_height = 0;
  int crop_left = 0;  // pixels cropped from the left
  int crop_top = 0;   // and from the top
  int target_width = 0;
  int target_height = 0;
  double aesthetic_score = 6.0;
  double negative_aesthetic_score = 2.5;
};

// SDXL base + refiner as diffusers' ensemble of experts: the base denoises the first
// `switch_at` fraction of the schedule, the refiner the rest.
struct RefinerSettings {
  std::string path;  // refiner model (folder or single file); empty = none
  double switch_at = 0.8;

  bool given() const { return !path.empty(); }
};

// Previews while denoising: a cheap latent->RGB approximation every step when
// `approximate`, and a real VAE decode every `vae_every` steps (0 = never, -1 = an
// automatic cadence that keeps their cost small).
struct PreviewSettings {
  bool approximate = true;
  int vae_every = -1;
  // A tiny autoencoder (TAESD: a diffusers AutoencoderTiny folder or .safetensors file) that
  // decodes a preview after every step instead of the approximation and the VAE cadence
  // above; empty = none.
  std::string tiny_vae;
};

// One ControlNet guiding the composition: its model (a diffusers folder or an original
// single file), its picture, how the picture becomes the control map (a preprocessor of
// core/control/preprocessors.h and its thresholds, a resize mode), and how strongly and
// over which part of the steps it acts (diffusers' controlnet_conditioning_scale and
// control_guidance_start / end).
struct ControlUnit {
  std::string model_path;
  std::string image_path;
  std::shared_ptr<const Image> image;  // used when image_path is empty
  std::string preprocessor = "none";
  // The preprocessor's two parameters as the web UI's "Threshold A/B" (Canny's low and high
  // thresholds, the scribble threshold, ...); a negative value means its default.
  double threshold_a = -1;
  double threshold_b = -1;
  // Fitting the map to the picture's size: "stretch" (diffusers' plain resize), "crop"
  // (crop and resize) or "fill" (resize and fill).
  std::string resize_mode = "stretch";
  double weight = 1.0;
  double guidance_start = 0.0;  // fraction of the steps where the unit starts acting
  double guidance_end = 1.0;    // and where it stops
  bool enabled = true;          // a disabled unit is kept in the request but not run

  bool given() const { return !image_path.empty() || (image && !image->empty()); }
};

// A second denoising pass over the first pass's upscaled result, as the web UI's
// "Hires. fix" (not supported yet: an enabled pass is refused by validation).
struct SecondPass {
  bool enabled = false;
  double scale = 2.0;    // upscale factor, used when width and height are 0
  int width = 0;
  int height = 0;
  std::string upscaler = "latent";
  int steps = 0;                    // 0 = as many as the first pass
  double denoising_strength = 0.7;  // image-to-image strength of the second pass
  std::string sampler;              // empty = the first pass's sampler
  std::string prompt;               // empty = the first pass's prompts
  std::string negative_prompt;
};

struct GenerationRequest {
  std::string prompt;
  std::string negative_prompt;
  // What SDXL's second text encoder reads; empty = the same as prompt / negative_prompt.
  std::string prompt_2;
  std::string negative_prompt_2;
  // Folder of textual-inversion embeddings (.safetensors) whose file names the prompt and
  // negative prompt may use; empty = none.
  std::string embeddings_dir;
  // Folder of wildcard files: each `__name__` in the prompts is replaced by a line of
  // `name.txt` there, chosen by the seed (core/text/wildcards.h); empty = `__name__` is text.
  std::string wildcards_dir;

  SamplingSettings sampling;
  SizeSettings size;
  LoraSettings loras;
  InitImageSettings init;
  MaskSettings mask;
  OutpaintSettings outpaint;
  PreviewSettings preview;
  // The autoencoder that decodes the final picture and encodes a starting picture instead
  // of the model's own: a full VAE or a tiny one (TAESD), as a diffusers folder or a
  // .safetensors file; empty = the model's.
  std::string vae;
  SdxlConditioning sdxl;
  RefinerSettings refiner;
  std::vector<ControlUnit> control_units;
  // diffusers' guess_mode for every unit: the ControlNets see the prompt only (not the
  // negative), their shallow residuals weakened; the web UI's "ControlNet is more important".
  bool control_guess_mode = false;
  SecondPass second_pass;
  // Run in low-memory mode (text encoders released after encoding, the VAE decoded in bands:
  // the same picture, a little slower) even where the engine would not choose it; it does
  // so by itself when the memory available would not hold the normal way.
  bool low_memory = false;
};

// True when the request starts from a picture (image to image, inpainting, outpainting).
inline bool has_init_image(const GenerationRequest& r) { return r.init.given(); }

}  // namespace latent::api
