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
  // The LoRAs of the result (GenerationResult::loras). Written as the "loras" array;
  // without them the array lists request.loras.adapters. Read back, the entries that did
  // not come from the prompt's <lora:...> tags become request.loras.adapters.
  std::vector<api::AppliedLora> loras;
  // GenerationResult::init_image_hash and mask_hash: which picture and mask were used.
  std::string init_image_hash;
  std::string mask_hash;
};

// The settings behind image `index` of `result`, from a model opened with `model`.
ImageSettings image_settings(const api::GenerationResult& result, std::size_t index,
                             const api::LoadOptions& model);

std::string settings_to_json(const ImageSettings& settings);
// Fields absent from the JSON keep the defaults; returns false when the text is not
// a JSON object written by us.
bool settings_from_json(const std::string& json, ImageSettings* settings);

}  // namespace latent::image
