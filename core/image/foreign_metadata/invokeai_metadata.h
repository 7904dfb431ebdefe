#pragma once

// InvokeAI's metadata. From 3.0 on, the `invokeai_metadata` chunk is a JSON object of the
// run's core settings: positive_prompt, negative_prompt, width, height, seed, cfg_scale,
// cfg_rescale_multiplier, steps, scheduler ("dpmpp_2m_k"), clip_skip (layers skipped, so
// 0 is the last layer), model and vae ({"name": ...}; 3.x wrote "model_name"), loras
// ([{"model" or "lora": {...}, "weight"}]), the SDXL style prompts and refiner, app_version.
// InvokeAI 2.x wrote `sd-metadata`: {"model_weights", "model_hash", "app_version",
// "image": {"prompt": [{"prompt": "... [negative words]"}], "steps", "cfg_scale", "seed",
// "width", "height", "sampler": "k_lms", ...}}, the negative prompt in square brackets.

#include <string>

#include "core/image/file_metadata.h"

namespace latent::image {

ImageMetadata read_invokeai_metadata(const std::string& json, const std::string& location);
ImageMetadata read_invokeai_sd_metadata(const std::string& json, const std::string& location);

}  // namespace latent::image
