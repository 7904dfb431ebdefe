#pragma once

// Our own record of every setting behind an image, stored as JSON in the PNG's
// `latentstudio` text chunk beside the web UI's `parameters` text.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/api/generation_result.h"
#include "core/api/load_options.h"

namespace latent::image {

constexpr const char* kSettingsChunk = "latentstudio";
constexpr const char* kParametersChunk = "parameters";

struct ImageSettings {
  api::GenerationRequest request;
  uint64_t seed = 0;
  std::string model_name;
  std::string model_hash;
  std::string model_path;
  std::string dtype;
  std::string device;
  // How the UNet's and text encoders' weights were held (GenerationResult::weights): "full"
  // or "int8"; written as "weights", read back as LoadOptions::weights takes it.
  std::string weights;
  // The LoRAs of the result (GenerationResult::loras). Written as the "loras" array;
  // without them the array lists request.loras.adapters. Read back, the entries that did
  // not come from the prompt's <lora:...> tags become request.loras.adapters.
  std::vector<api::AppliedLora> loras;
  // GenerationResult::init_image_hash and mask_hash: which picture and mask were used.
  std::string init_image_hash;
  std::string mask_hash;
  // GenerationResult::refiner_name and refiner_hash: which refiner ran, if one did.
  std::string refiner_name;
  std::string refiner_hash;
  // GenerationResult::vae_name and vae_hash: the autoencoder that decoded the picture when
  // it was not the model's own (request.vae).
  std::string vae_name;
  std::string vae_hash;
};

// The settings behind image `index` of `result`, from a model opened with `model`.
ImageSettings image_settings(const api::GenerationResult& result, std::size_t index,
                             const api::LoadOptions& model);

std::string settings_to_json(const ImageSettings& settings);
// Fields absent from the JSON keep the values `settings` holds, except the ones added
// with SDXL (the second prompts, guidance rescale, "sdxl" and "refiner"): an image written
// before they existed was made with them at their defaults, so they take those (no
// refiner). Returns false when the text is not a JSON object written by us.
//
// The request's SDXL groups are objects named as in api::GenerationRequest:
//   "sdxl": {"original_width", "original_height", "crop_left", "crop_top",
//            "target_width", "target_height", "aesthetic_score", "negative_aesthetic_score"}
//   "refiner": {"path", "switch_at", "name", "hash"}   (only when a refiner was given)
//   "hires": {"scale", "width", "height", "upscaler", "steps", "denoising_strength",
//             "sampler", "prompt", "negative_prompt"}   (only with the hires fix on)
bool settings_from_json(const std::string& json, ImageSettings* settings);

}  // namespace latent::image
