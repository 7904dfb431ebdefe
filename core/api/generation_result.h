#pragma once

// What a generation gives back and what is reported while it runs.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/api/image.h"

namespace latent::api {

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
  bool from_prompt = false;  // came from a <lora:...> tag rather than the request's adapters
  std::string warning;       // set when only part of it fits the model (allow_partial)
};

// A ControlNet that guided a result, as the metadata records it ("Model: NAME [HASH]").
struct AppliedControlNet {
  std::string name;  // folder name, or file name without extension
  std::string hash;  // first 8 hex digits of SHA-256 over its weights file
};

struct GenerationResult {
  GenerationRequest request;  // as asked, but for its wildcards, expanded
  // The prompt and negative prompt as written, where wildcards changed them (the metadata's
  // "Template" and "Negative Template", as the Dynamic Prompts extension names them); empty
  // otherwise.
  std::string prompt_template;
  std::string negative_prompt_template;
  std::vector<Image> images;
  std::vector<uint64_t> seeds;  // the seed each image came from (all equal: one draw per batch)
  std::string model_name;       // file or folder name of the checkpoint
  std::string model_hash;       // first 10 hex digits of SHA-256 over the weights file(s)
  // The SDXL refiner that took the last steps (request.refiner): its file or folder name and
  // hash, counted as model_name and model_hash are; empty when none ran.
  std::string refiner_name;
  std::string refiner_hash;
  // The first 10 hex digits of SHA-256 over the pixels of the starting picture and of the
  // mask, as loaded; empty when there was none.
  std::string init_image_hash;
  std::string mask_hash;
  // The autoencoder that decoded the picture when it was not the model's own (request.vae):
  // its file or folder name and hash, counted as model_name and model_hash are.
  std::string vae_name;
  std::string vae_hash;
  // How the UNet's and text encoders' weights were held: "full" or "int8" (LoadOptions::weights).
  std::string weights;
  // How the run used memory, for a status line: "normal memory use" or "low-memory mode (...)".
  std::string memory_mode;
  double seconds_total = 0;
  double seconds_in_previews = 0;
  std::vector<std::string> warnings;  // things the user should know (a mask resized, ...)
  std::vector<AppliedLora> loras;  // the request's adapters and its prompt's <lora:...> tags, resolved
  // The ControlNets of the request's enabled control units, in their order.
  std::vector<AppliedControlNet> controlnets;

  // The seed image `index` came from; the request's when the result lists none for it.
  uint64_t seed_of(std::size_t index) const {
    return index < seeds.size() ? seeds[index] : request.sampling.seed;
  }
};

}  // namespace latent::api
