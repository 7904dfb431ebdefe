#pragma once

// Our own record of every setting behind an image, stored as JSON in the PNG's
// `latentstudio` text chunk beside the web UI's `parameters` text.

#include <string>
#include <vector>

#include "core/pipeline/generation_request.h"

namespace latent::image {

constexpr const char* kSettingsChunk = "latentstudio";
constexpr const char* kParametersChunk = "parameters";

struct ImageSettings {
  pipeline::GenerationRequest request;
  uint64_t seed = 0;
  std::string model_name;
  std::string model_hash;
  std::string model_path;
  std::string dtype;
  std::string device;
  // The LoRAs of the result (GenerationResult::loras). Written as the "loras" array;
  // without them the array lists request.loras. Read back, the entries that did not
  // come from the prompt's <lora:...> tags become request.loras.
  std::vector<pipeline::AppliedLora> loras;
};

std::string settings_to_json(const ImageSettings& settings);
// Fields absent from the JSON keep the defaults; returns false when the text is not
// a JSON object written by us.
bool settings_from_json(const std::string& json, ImageSettings* settings);

}  // namespace latent::image
