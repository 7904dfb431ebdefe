#pragma once

// The encode-conditioning stage for text: prompts and negative prompts through the
// model's text encoder into the cross-attention context, read with the params' prompt
// syntax, each prompt repeated for its images.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/pipeline/conditioning.h"
#include "core/pipeline/pipeline_params.h"
#include "core/pipeline/sdxl_conditioning.h"

namespace latent::pipeline {

struct ModelBundle;

// Encodes texts padded to 77 tokens → [N,77,D] in float32 on the model's device, as
// diffusers does (PromptSyntax::Plain; encode_weighted_prompts() reads the web UI's
// language). `clip_skip` counts layers skipped from the end (0 = the last layer).
torch::Tensor encode_prompts(ModelBundle& model, const std::vector<std::string>& texts, int clip_skip);

// The prompts' conditioning in float32 on the model's device: cond [B,77·k,D] and, with
// guidance, uncond of the negative prompts (encoded without clip skip, as diffusers does);
// each prompt repeated for its images ([p0, p0, p1, p1]). SDXL models go through
// encode_sdxl_conditioning (sdxl_conditioning.h, PromptSyntax::Plain: diffusers' reading) or
// encode_sdxl_weighted_conditioning (sdxl_prompt_encoder.h, PromptSyntax::Weighted: the web
// UI's), with `layout` for their time ids.
GuidedConditioning encode_text_conditioning(ModelBundle& model, const SamplingParams& params,
                                            TimeIdsLayout layout = TimeIdsLayout::text_to_image);

}  // namespace latent::pipeline
