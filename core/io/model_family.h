#pragma once

// Which Stable Diffusion family a model belongs to, read from its configs (never guessed
// from tensor sizes: the tiny test models have the real families' structure at any width),
// and what each family's models are made of.

#include <QJsonObject>
#include <string>
#include <vector>

namespace latent::io {

enum class ModelFamily { sd1, sd2, sdxl_base, sdxl_refiner };

// "Stable Diffusion 1.x", "Stable Diffusion 2.x", "SDXL base", "SDXL refiner".
std::string family_name(ModelFamily family);

inline bool is_sdxl(ModelFamily family) {
  return family == ModelFamily::sdxl_base || family == ModelFamily::sdxl_refiner;
}

// From unet/config.json and text_encoder/config.json (empty when the model has no first
// text encoder, as the SDXL refiner): SDXL when the UNet takes "text_time" added
// embeddings (the refiner has only the second, OpenCLIP, text encoder); SD 2.x when the
// text encoder is OpenCLIP's ("gelu" activation); SD 1.x otherwise (OpenAI CLIP,
// "quick_gelu").
ModelFamily detect_family(const QJsonObject& unet_config, const QJsonObject& text_encoder_config);

// The text encoders a family's models have, by their diffusers folder names, in the order
// their outputs are concatenated: "text_encoder" for SD 1.x and 2.x, "text_encoder" and
// "text_encoder_2" for the SDXL base, "text_encoder_2" alone for the refiner.
std::vector<std::string> text_encoder_names(ModelFamily family);

// The tokenizer folder that feeds a text encoder: "tokenizer" for "text_encoder",
// "tokenizer_2" for "text_encoder_2" (diffusers' pairing).
std::string tokenizer_name(const std::string& text_encoder_name);

// What an SDXL pipeline checks only once it runs, checked when the model is opened so
// that a model which cannot run is refused with the reason:
//  - model_index.json's requires_aesthetics_score, when it says, agrees with the family
//    (the refiner conditions on an aesthetic score, the base on a target size);
//  - the UNet's added-embedding input is as wide as the pooled text embedding
//    (text_encoder_2's projection_dim) plus one addition_time_embed_dim-wide embedding per
//    size id: 6 for the base, 5 for the refiner (diffusers' _get_add_time_ids check).
// Nothing to check for other families. Throws latent::Error naming `source`.
void check_sdxl_configs(ModelFamily family, const QJsonObject& unet_config,
                        const QJsonObject& text_encoder_2_config, const QJsonObject& model_index,
                        const std::string& source);

}  // namespace latent::io
