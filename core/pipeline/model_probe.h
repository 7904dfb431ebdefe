#pragma once

// What the GUI shows of a model or LoRA file before anything is loaded: the family, read
// from the configs and key names exactly as loading reads them (so the picker never says
// one thing and the engine another), and the picture size the model was trained for.
// Free of LibTorch in its interface; reading only maps files and parses headers.

#include <string>

#include "core/api/load_options.h"
#include "core/io/lora_family.h"
#include "core/io/model_family.h"
#include "core/pipeline/fast_preset.h"

namespace latent::pipeline {

// A model's own defaults, as its diffusers pipeline has them: the picture's side is the
// UNet config's sample_size times the VAE's scale factor (512 for SD 1.5, 768 for SD 2.x
// 768-v, 1024 for SDXL), and the guidance scale 5 for SDXL (StableDiffusionXLPipeline),
// 7.5 for the others.
struct ModelDefaults {
  int width = 512;
  int height = 512;
  double guidance_scale = 7.5;
};

// The defaults of a model of `family` whose latents are `latent_side` wide and whose VAE
// scales by `vae_scale`.
ModelDefaults model_defaults_for(io::ModelFamily family, int64_t latent_side, int64_t vae_scale);

struct ModelSummary {
  io::ModelFamily family = io::ModelFamily::sd1;
  ModelDefaults defaults;
  std::string prediction = "epsilon";  // "epsilon" or "v_prediction", as the engine will run it
  // Whether the person should say what it predicts: a Stable Diffusion 2.x single file,
  // whose weights look the same either way (LoadOptions::prediction; without it the configs
  // decide, the bundled ones saying v).
  bool prediction_is_a_choice = false;
  FastPreset fast;  // what the "Fast" preset sets for this model
};

// Opens the model's files as the engine would with `options` (path, configs, prediction;
// no weights are read). Throws latent::Error with the loader's message when it is not a
// model Latent Studio opens.
ModelSummary probe_model(const api::LoadOptions& options);

// The family a LoRA file was made for, from the names of its tensors. Throws latent::Error
// when the file is not a readable safetensors file.
io::LoraFamilyEvidence probe_lora(const std::string& path);

// Why a LoRA made for `lora` cannot be applied to a model of `model`, for people ("made
// for SDXL: it names two text encoders …"); empty when it can.
std::string lora_misfit(const io::LoraFamilyEvidence& lora, io::ModelFamily model);

}  // namespace latent::pipeline
