#pragma once

// The engine's vocabulary as plain values: what to generate, what comes back, and
// what is reported along the way. Free of LibTorch so the GUI can include it.

#include <cstdint>
#include <memory>
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

// A LoRA adapter applied for one request, scaled by `multiplier` (negative allowed).
struct LoraSpec {
  std::string path;
  double multiplier = 1.0;
};

struct Image;

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
  std::vector<LoraSpec> loras;
  // Folder in which `<lora:NAME:MULTIPLIER>` tags of the prompt are resolved (and LoRA
  // paths that are bare names); empty = tags stay in the prompt as text.
  std::string lora_dir;
  // Apply the matching part of LoRAs that have keys this model lacks (with a warning)
  // instead of refusing them.
  bool lora_partial = false;
  // Folder of textual-inversion embeddings (.safetensors) whose file names the prompt and
  // negative prompt may use; empty = none.
  std::string embeddings_dir;

  // Previews: a cheap latent->RGB approximation every step when `approximate_preview`,
  // and a real VAE decode every `vae_preview_every` steps (0 = never, -1 = automatic cadence).
  bool approximate_preview = true;
  int vae_preview_every = -1;

  // Image to image and inpainting (see core/pipeline/image_request.h): start from a
  // picture, given as a file (init_image) or as pixels (init_pixels, used when
  // init_image is empty), instead of pure noise.
  std::string init_image;
  std::shared_ptr<const Image> init_pixels;
  double strength = 0.75;  // 0 keeps the picture (a VAE round trip), 1 repaints it from noise
  std::string resize_mode = "resize";  // fitting the picture to width x height: resize, crop or pad
  // Inpainting: a mask file or pixels (luma is used), white = repaint; none = image to image.
  std::string mask_image;
  std::shared_ptr<const Image> mask_pixels;
  int mask_blur = 4;  // feathering of the mask's edge, in pixels
  // Repaint only the masked area: cut it out with this much context around it, work on
  // it at width x height, paste it back into the full-size picture.
  bool inpaint_full_res = false;
  int inpaint_full_res_padding = 32;
  // Outpainting: grow the canvas by these many pixels per side and repaint the new area.
  int outpaint_left = 0;
  int outpaint_top = 0;
  int outpaint_right = 0;
  int outpaint_bottom = 0;
  // Set by the engine on GenerationResult::request and kept in the metadata: the first
  // 10 hex digits of SHA-256 over the pixels of the picture and of the mask.
  std::string init_image_hash;
  std::string mask_hash;
};

// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;

  bool empty() const { return rgb.empty(); }
};

// True when the request starts from a picture (image to image, inpainting, outpainting).
inline bool has_init_image(const GenerationRequest& r) {
  return !r.init_image.empty() || (r.init_pixels && !r.init_pixels->empty());
}

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

// A LoRA that was active for a result, as the metadata records it.
struct AppliedLora {
  std::string name;  // file name without extension, as <lora:NAME> and "Lora hashes" use it
  std::string path;
  double multiplier = 1.0;
  std::string hash;  // 12 hex digits of SHA-256 over the file's data after the header
  bool from_prompt = false;  // came from a <lora:...> tag rather than GenerationRequest::loras
  std::string warning;       // set when only part of it fits the model (lora_partial)
};

struct GenerationResult {
  GenerationRequest request;
  std::vector<Image> images;
  std::vector<uint64_t> seeds;  // the seed each image came from (all equal: one draw per batch)
  std::string model_name;       // file or folder name of the checkpoint
  std::string model_hash;       // first 10 hex digits of SHA-256 over the weights file(s)
  double seconds_total = 0;
  double seconds_in_previews = 0;
  std::vector<std::string> warnings;  // things the user should know (a mask resized, ...)
  std::vector<AppliedLora> loras;  // request.loras and the prompt's <lora:...> tags, resolved
};

}  // namespace latent::pipeline
