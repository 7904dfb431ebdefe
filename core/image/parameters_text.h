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

#include "core/api/generation_request.h"
#include "core/api/generation_result.h"

namespace latent::image {

// The web UI's spelling of a sampler and its schedule ("Euler a", ""; "DPM++ 2M", "Karras").
std::pair<std::string, std::string> webui_sampler_name(const std::string& sampler);
// Back from the web UI's names (also the older "DPM++ 2M Karras" form); empty when unknown.
std::string sampler_from_webui(const std::string& sampler, const std::string& schedule);

// What the text records beside the request: values the engine worked out (see
// api::GenerationResult) and fields of the caller's own.
struct ParametersExtras {
  std::string model_name;
  std::string model_hash;
  std::vector<std::pair<std::string, std::string>> more;  // appended in order, before Version
  // Written as "Init image hash" and "Mask hash" (image to image and inpainting only).
  std::string init_image_hash;
  std::string mask_hash;
  // The refiner that ran (api::GenerationResult::refiner_name, refiner_hash), written as the
  // web UI's "Refiner: NAME [HASH]" beside "Refiner switch at".
  std::string refiner_name;
  std::string refiner_hash;
  // The autoencoder other than the model's own that decoded the picture, written as the
  // web UI's "VAE hash" and "VAE" (api::GenerationResult::vae_name, vae_hash).
  std::string vae_name;
  std::string vae_hash;
  // The nets of the request's enabled control units (api::GenerationResult::controlnets),
  // written in the web UI's "ControlNet N" entries as "Model: NAME [HASH]".
  std::vector<api::AppliedControlNet> controlnets;
};

// The extras of a result: its model, its picture and mask hashes, and its LoRAs' "Lora
// hashes". Callers append fields of their own (a batch position, ...) to `more`.
ParametersExtras parameters_extras(const api::GenerationResult& result);

// The text for one image of a request, drawn from `seed`. "Clip skip" is written as the
// request counts it (the web UI's count), and left out at 1, as the web UI does. Guidance
// rescale is written as the CFG Rescale extension writes it ("CFG Rescale: 0.7", left out
// at 0), a refiner as the web UI does ("Refiner: NAME [HASH], Refiner switch at: 0.8"),
// a hires fix as well ("Denoising strength", "Hires upscale" or "Hires resize", "Hires
// steps", "Hires upscaler" with the web UI's upscaler names, "Hires sampler", "Hires prompt").
// The second prompts and SDXL's size, crop and aesthetic-score conditioning have no field
// in the web UI: only our JSON (settings_json.h) carries them.
std::string format_parameters(const api::GenerationRequest& request, uint64_t seed,
                              const ParametersExtras& extras);

// The web UI's ControlNet extension's entry for one unit (without the quotes the text
// adds): "Module: canny, Model: NAME [HASH], Weight: 1, Resize Mode: Crop and Resize,
// Processor Res: 512, Threshold A: 100, Threshold B: 200, Guidance Start: 0, Guidance End: 1,
// Pixel Perfect: False, Control Mode: Balanced". Unset thresholds are written -1, as the
// extension does; guess mode is "Control Mode: ControlNet is more important".
std::string control_unit_text(const api::ControlUnit& unit, const api::AppliedControlNet& net, bool guess_mode);

// The web UI's "Lora hashes" value, "name: 0123456789ab, other: ba9876543210" (names
// lose ':' and ',' as the web UI does); "" without LoRAs. parameters_extras adds it to
// ParametersExtras::more as {"Lora hashes", ...}.
std::string lora_hashes_text(const std::vector<api::AppliedLora>& loras);

struct ParsedParameters {
  std::string prompt;
  std::string negative_prompt;
  std::vector<std::pair<std::string, std::string>> fields;  // in file order, values unquoted

  std::optional<std::string> field(const std::string& key) const;
  // Fills the request fields that the text carries (prompt, negative, steps, sampler,
  // CFG scale, seed, size, clip skip, guidance rescale, step cache, refiner switch,
  // image-to-image settings); others keep the values of `base`. Without "CFG Rescale" (or the older
  // "CFG Rescale phi") guidance rescale is 0. The text names a refiner only by name, so
  // `base`'s refiner path is kept when its file name is that name, and cleared otherwise
  // (and when the text names no refiner): to_result's refiner_name says which to look for.
  // "ControlNet N" entries become control units in N's order: the base's unit N keeps its
  // model path when the file name is the entry's model name, and its picture; a unit whose
  // model or picture is unknown this way is disabled (to_result's controlnets name the
  // models to look for). Without entries, no units.
  api::GenerationRequest to_request(const api::GenerationRequest& base) const;
  // The request as to_request, with what the text says about the run that made the
  // image: the model's name and hash, the refiner's, the picture's and the mask's hashes,
  // the ControlNets' names and hashes.
  api::GenerationResult to_result(const api::GenerationRequest& base) const;
  // The text again as the web UI writes it: values holding separators JSON-quoted, the
  // "Negative prompt:" line left out when empty.
  std::string to_text() const;
};

ParsedParameters parse_parameters(const std::string& text);

// True for the fields that ParsedParameters::to_request and to_result read ("ControlNet N"
// included): the other fields of a text have no counterpart in Latent Studio.
bool is_restored_parameters_field(const std::string& key);

}  // namespace latent::image
