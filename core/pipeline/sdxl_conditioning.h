#pragma once

// The encode-conditioning stage for SDXL, as diffusers' StableDiffusionXLPipeline
// encode_prompt and _get_add_time_ids: the penultimate hidden states of every text
// encoder joined along the features, the pooled vector of the encoder with a projection,
// and the size and crop ids (or, for the refiner, the aesthetic score).

#include <torch/torch.h>

#include "core/pipeline/conditioning.h"
#include "core/pipeline/pipeline_params.h"

namespace latent::pipeline {

struct ModelBundle;

// How diffusers' SDXL pipelines lay out the guided batch's time ids. Text to image
// concatenates [negative, positive] first and repeats the pair for every image, so with
// several images the rows alternate across the two halves; image to image and inpainting
// repeat each row first, so each half holds its own rows.
enum class TimeIdsLayout { text_to_image, image_to_image };

// The prompts' conditioning in float32 on the model's device: context [B,77,ΣD],
// pooled [B,P] and time_ids [B,k] for cond and, with guidance, uncond (zeros when no
// negative prompt is given and the model forces them); each prompt repeated for its images.
GuidedConditioning encode_sdxl_conditioning(ModelBundle& model, const SamplingParams& params,
                                            TimeIdsLayout layout = TimeIdsLayout::text_to_image);

// One row of add_time_ids: [orig_h, orig_w, crop_top, crop_left, target_h, target_w], or
// for a model that requires aesthetics scores [orig_h, orig_w, crop_top, crop_left, score].
// Sizes default to the params' own (0 = the picture's size); the negative row is the
// positive one unless both negative sizes are given (text to image's rule).
torch::Tensor sdxl_time_ids(const ModelBundle& model, const SamplingParams& params, bool negative);

// Sets `out`'s time ids as encode_sdxl_conditioning lays them out: cond.time_ids, and with
// guidance uncond.time_ids, one row per image (prompts × images_per_prompt) on the model's
// device. For conditioning whose context and pooled vectors are made another way (the
// web UI's prompt language, sdxl_prompt_encoder.h).
void set_sdxl_time_ids(GuidedConditioning& out, const ModelBundle& model,
                       const SamplingParams& params, TimeIdsLayout layout);

}  // namespace latent::pipeline
