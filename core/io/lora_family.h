#pragma once

// Which model family a LoRA file was made for, read from the names of its modules: the
// text encoders they name and the UNet layout they describe, never the tensor sizes (the
// tiny test models have the real families' layouts at any width, and a width that fits by
// chance proves nothing). A LoRA for one family offered to a model of another is refused
// with a message that names both.
//
// What the names tell:
//  - kohya-ss writes `lora_te_` for the one text encoder of Stable Diffusion 1.x and 2.x,
//    `lora_te1_` and `lora_te2_` for SDXL's two; diffusers writes `text_encoder_2.` for
//    SDXL's second one.
//  - Stable Diffusion 1.x and 2.x have attention in the outermost UNet level
//    (down_blocks.0, up_blocks.3; input_blocks.1/2, output_blocks.9-11 in the original
//    names); SDXL's outermost level (base and refiner) has none.
//  - SDXL's transformers are deeper than one block (transformer_blocks.1 and on);
//    Stable Diffusion 1.x and 2.x have one block per transformer.
// Names that point both ways decide nothing; the shapes are then checked as before.
// Reference: kohya-ss sd-scripts networks/lora.py (LORA_PREFIX_TEXT_ENCODER1/2);
// diffusers loaders/lora_pipeline.py (StableDiffusionXLLoraLoaderMixin).

#include <map>
#include <string>
#include <vector>

#include "core/io/model_family.h"

namespace latent::io {

enum class LoraFamily { unknown, sd, sdxl };  // sd: Stable Diffusion 1.x or 2.x

struct LoraFamilyEvidence {
  LoraFamily family = LoraFamily::unknown;
  // What the names say, for messages: "it names two text encoders: lora_te1_text_model_…".
  std::string reason;
  // The family for people: "SDXL", "Stable Diffusion 1.x", "Stable Diffusion 2.x", or
  // "Stable Diffusion 1.x or 2.x" when the file's kohya metadata (ss_base_model_version,
  // ss_v2) does not say which; only the wording, never the decision, comes from metadata.
  std::string name;
};

// `modules` as the file spells them ("lora_unet_…", "unet.down_blocks.0.…", "text_encoder_2.…");
// `metadata` the safetensors header's string table.
LoraFamilyEvidence lora_family(const std::vector<std::string>& modules,
                               const std::map<std::string, std::string>& metadata);

// Whether a LoRA of `lora` may be applied to a model of `model`; an unknown family may.
bool lora_fits_family(LoraFamily lora, ModelFamily model);

}  // namespace latent::io
