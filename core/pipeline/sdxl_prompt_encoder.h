#pragma once

// SDXL prompts read in the web UI's language (PromptSyntax::Weighted) and encoded as the web
// UI conditions SDXL: each text encoder reads the prompt with its own tokenizer in 75-token
// chunks (emphasis, BREAK and textual-inversion embeddings as for SD 1.x, prompt_encoder.h);
// every chunk goes through the encoder, whose penultimate layer (clip skip on top) is weighted
// token by token with the encoder's mean restored; the chunks are joined along the tokens,
// the encoders along the features, and the pooled vector is text_encoder_2's for the first
// chunk. The time ids are the ones sdxl_conditioning.h builds.
// Reference: AUTOMATIC1111 stable-diffusion-webui modules/sd_hijack_clip.py
// (FrozenCLIPEmbedderForSDXLWithCustomWords), modules/sd_hijack_open_clip.py
// (FrozenOpenCLIPEmbedder2WithCustomWords) and modules/sd_models_xl.py (get_learned_conditioning).

#include "core/pipeline/conditioning.h"
#include "core/pipeline/pipeline_params.h"
#include "core/pipeline/sdxl_conditioning.h"

namespace latent::pipeline {

struct ModelBundle;

// The prompts' conditioning in float32 on the model's device, laid out as
// encode_sdxl_conditioning's: context [B, 77·k, ΣD] (k chunks, the same for cond and
// uncond), pooled [B, P] and time_ids, each prompt repeated for its images. Where diffusers
// would read the texts the same way (every weight 1, one chunk, no embedding) the two are
// equal bit for bit, but for the negative side: the web UI zeros it whenever every negative
// prompt is empty, on every SDXL model, where diffusers zeros it only when none was given
// and the model asks for it (force_zeros_for_empty_prompt).
// `prompts_2` and `negative_prompts_2` go to text_encoder_2 as diffusers pairs them (the web
// UI has no second prompt). Throws latent::Error for prompts the parser refuses, embeddings
// that do not fit the model (an SD 1.x embedding on SDXL included) and prompts over
// kMaxPromptChunks chunks.
GuidedConditioning encode_sdxl_weighted_conditioning(
    ModelBundle& model, const SamplingParams& params,
    TimeIdsLayout layout = TimeIdsLayout::text_to_image);

}  // namespace latent::pipeline
