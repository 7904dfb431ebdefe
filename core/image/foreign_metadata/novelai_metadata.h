#pragma once

// NovelAI's metadata: PNG text chunks "Software" ("NovelAI"), "Source" (the model, e.g.
// "Stable Diffusion XL C1E1DE52"), "Description" (the prompt) and "Comment", a JSON object
// of the request: prompt, uc (the negative prompt), steps, scale (guidance), seed,
// sampler ("k_euler_ancestral"), noise_schedule ("karras"), width, height, cfg_rescale,
// and from V4 on v4_prompt / v4_negative_prompt ({"caption": {"base_caption", "char_captions"}}).

#include <string>

#include "core/image/file_metadata.h"

namespace latent::image {

// `comment` is the Comment chunk; `description` and `model` the Description and Source
// chunks ("" when absent). An invalid comment gives found() == false.
ImageMetadata read_novelai_comment(const std::string& comment, const std::string& description,
                                   const std::string& model, const std::string& location);

}  // namespace latent::image
