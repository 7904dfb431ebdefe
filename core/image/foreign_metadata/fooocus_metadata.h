#pragma once

// Fooocus's own metadata scheme ("fooocus", named in the `fooocus_scheme` chunk or the EXIF
// MakerNote): the `parameters` chunk (or EXIF UserComment) holds a JSON object with prompt
// and negative_prompt as typed, full_prompt and full_negative_prompt (lists: the prompt with
// its styles and expansion, as encoded), steps, guidance_scale, seed, resolution
// ("(1024, 1024)"), sampler and scheduler (ComfyUI's names), base_model, base_model_hash,
// refiner_model, refiner_switch, vae, clip_skip, loras ([[name, weight, hash], ...]) or
// lora_combined_N ("name : weight"), and Fooocus's own settings (styles, performance,
// sharpness, adm_guidance, ...). Its "a1111" scheme is the web UI's text
// (webui_parameters.h).

#include <string>

#include "core/image/file_metadata.h"

namespace latent::image {

// An invalid JSON object gives found() == false.
ImageMetadata read_fooocus_json(const std::string& json, const std::string& location);

}  // namespace latent::image
