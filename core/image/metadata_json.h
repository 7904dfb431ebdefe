#pragma once

// An image's metadata (file_metadata.h) as the JSON that `latentstudio-cli png-info` prints:
//   {"format": "PNG", "source": "ComfyUI", "version": "...", "location": "PNG text chunk \"prompt\"",
//    "settings": {"prompt", "negative_prompt", "steps", "sampler", "guidance_scale", "seed", "width",
//                 "height", "clip_skip", "model", "loras": [{"name", "multiplier"}], ...},
//    "unmapped": [{"name": "scheduler", "value": "exponential"}, ...],
//    "parameters": "the web UI's text of what maps",
//    "latentstudio": {...our own JSON, for files Latent Studio wrote}}
// Settings carry the names of our own JSON (settings_json.h) and appear only when the file
// sets them; the seed is text, as there, since JSON numbers cannot hold every 64-bit seed.
// Without settings, "source" is null and the rest is empty.

#include <QJsonObject>

#include "core/image/file_metadata.h"

namespace latent::image {

QJsonObject metadata_to_json(const ImageMetadata& meta);

}  // namespace latent::image
