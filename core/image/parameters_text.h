#pragma once

// The `parameters` text that AUTOMATIC1111's web UI writes into images and that
// most Stable Diffusion programs read:
//   <prompt>
//   Negative prompt: <negative>
//   Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 512x768, ...

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/pipeline/generation_request.h"

namespace latent::image {

// The web UI's spelling of a sampler and its schedule ("Euler a", ""; "DPM++ 2M", "Karras").
std::pair<std::string, std::string> webui_sampler_name(const std::string& sampler);
// Back from the web UI's names (also the older "DPM++ 2M Karras" form); empty when unknown.
std::string sampler_from_webui(const std::string& sampler, const std::string& schedule);

struct ParametersExtras {
  std::string model_name;
  std::string model_hash;
  std::vector<std::pair<std::string, std::string>> more;  // appended in order, before Version
};

std::string format_parameters(const pipeline::GenerationRequest& request, uint64_t seed,
                              const ParametersExtras& extras);

// The web UI's "Lora hashes" value, "name: 0123456789ab, other: ba9876543210" (names
// lose ':' and ',' as the web UI does); "" without LoRAs. Add it to ParametersExtras::more
// as {"Lora hashes", ...}.
std::string lora_hashes_text(const std::vector<pipeline::AppliedLora>& loras);

struct ParsedParameters {
  std::string prompt;
  std::string negative_prompt;
  std::vector<std::pair<std::string, std::string>> fields;  // in file order, values unquoted

  std::optional<std::string> field(const std::string& key) const;
  // Fills the request fields that the text carries (prompt, negative, steps, sampler,
  // CFG scale, seed, size, clip skip); others keep the values of `base`.
  pipeline::GenerationRequest to_request(const pipeline::GenerationRequest& base) const;
};

ParsedParameters parse_parameters(const std::string& text);

}  // namespace latent::image
