#include "core/io/checkpoint_layout.h"

#include "core/util/error.h"

namespace latent::io {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// The keys diffusers looks for: the last MLP of the tenth OpenCLIP block, which is
// embedders.1 in the base (beside the CLIP ViT-L embedders.0) and embedders.0 in the
// refiner (its only encoder).
const char* const kSdxlBaseMarker =
    "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias";
const char* const kSdxlRefinerMarker =
    "conditioner.embedders.0.model.transformer.resblocks.9.mlp.c_proj.bias";
// The final norm of SD 2.x's OpenCLIP text tower, which every 2.x checkpoint keeps.
const char* const kSd2Marker = "cond_stage_model.model.ln_final.weight";

// What the file's keys look like, for the refusal of a file that is no checkpoint we read.
struct KeyKinds {
  bool unet = false, sgm_conditioner = false, sd2 = false, lora = false, diffusers_unet = false,
       vae = false, clip = false;
};

KeyKinds kinds_of(const SafetensorsFile& file) {
  KeyKinds k;
  for (const auto& info : file.tensors()) {
    const std::string& key = info.name;
    k.unet |= starts_with(key, "model.diffusion_model.");
    k.sgm_conditioner |= starts_with(key, "conditioner.embedders.");
    k.sd2 |= starts_with(key, "cond_stage_model.model.");
    k.lora |= starts_with(key, "lora_") || key.find(".lora_") != std::string::npos ||
              key.find("lora_down") != std::string::npos || key.find(".lora.") != std::string::npos;
    k.diffusers_unet |= starts_with(key, "down_blocks.") || starts_with(key, "time_embedding.");
    k.vae |= starts_with(key, "encoder.down_blocks.") || starts_with(key, "decoder.up_blocks.") ||
             starts_with(key, "encoder.down.") || starts_with(key, "decoder.up.");
    k.clip |= starts_with(key, "text_model.");
  }
  return k;
}

// Says what a file without a UNet is.
[[noreturn]] void refuse_foreign(const SafetensorsFile& file, const KeyKinds& k) {
  const std::string f = "'" + file.path() + "' ";
  if (file.tensors().empty())
    throw Error(f + "holds no tensors at all, so it is not a model checkpoint");
  if (k.lora) throw Error(f + "is a LoRA, not a model: open a model and add the LoRA to it");
  if (k.vae)
    throw Error(f +
                "holds only a VAE (autoencoder) and no UNet: it is not a full model checkpoint");
  if (k.diffusers_unet)
    throw Error(f +
                "holds diffusers UNet weights only (down_blocks.*): open the whole diffusers "
                "model folder instead of this file");
  if (k.clip) throw Error(f + "holds only a CLIP text encoder: it is not a full model checkpoint");
  const auto& t = file.tensors();
  std::string examples;
  for (std::size_t i = 0; i < t.size() && i < 3; ++i) examples += (i ? "', '" : "") + t[i].name;
  throw Error(f +
              "is not a Stable Diffusion 1.x, 2.x or SDXL checkpoint: it has no "
              "model.diffusion_model.* (UNet) tensors; its " +
              std::to_string(t.size()) + " tensors are named like '" + examples + "'");
}

}  // namespace

ModelFamily family_of(CheckpointLayout layout) {
  switch (layout) {
    case CheckpointLayout::sdxl_base:
      return ModelFamily::sdxl_base;
    case CheckpointLayout::sdxl_refiner:
      return ModelFamily::sdxl_refiner;
    case CheckpointLayout::sd2:
      return ModelFamily::sd2;
    case CheckpointLayout::sd1:
      break;
  }
  return ModelFamily::sd1;
}

const std::vector<TextEncoderSlot>& text_encoder_slots(CheckpointLayout layout) {
  static const std::vector<TextEncoderSlot> sd1 = {
      {"text_encoder", "cond_stage_model.transformer.", TextEncoderForm::transformers}};
  static const std::vector<TextEncoderSlot> sdxl_base = {
      {"text_encoder", "conditioner.embedders.0.transformer.", TextEncoderForm::transformers},
      {"text_encoder_2", "conditioner.embedders.1.model.", TextEncoderForm::open_clip}};
  static const std::vector<TextEncoderSlot> sdxl_refiner = {
      {"text_encoder_2", "conditioner.embedders.0.model.", TextEncoderForm::open_clip}};
  static const std::vector<TextEncoderSlot> sd2 = {
      {"text_encoder", "cond_stage_model.model.", TextEncoderForm::open_clip}};
  switch (layout) {
    case CheckpointLayout::sd2:
      return sd2;
    case CheckpointLayout::sdxl_base:
      return sdxl_base;
    case CheckpointLayout::sdxl_refiner:
      return sdxl_refiner;
    case CheckpointLayout::sd1:
      break;
  }
  return sd1;
}

std::string bundled_config_folder(CheckpointLayout layout, const std::string& prediction) {
  switch (layout) {
    case CheckpointLayout::sd2:
      return prediction == "epsilon" ? "sd2_base" : "sd21_768";
    case CheckpointLayout::sdxl_base:
      return "sdxl_base";
    case CheckpointLayout::sdxl_refiner:
      return "sdxl_refiner";
    case CheckpointLayout::sd1:
      break;
  }
  return "sd15";
}

std::string layout_evidence(CheckpointLayout layout) {
  switch (layout) {
    case CheckpointLayout::sdxl_base:
      return std::string("it has ") + kSdxlBaseMarker + ", a tensor of the OpenCLIP text_encoder_2";
    case CheckpointLayout::sdxl_refiner:
      return std::string("it has ") + kSdxlRefinerMarker +
             ", a tensor of its only text encoder, OpenCLIP's";
    case CheckpointLayout::sd2:
      return std::string("it has ") + kSd2Marker + ", a tensor of its OpenCLIP text encoder";
    case CheckpointLayout::sd1:
      break;
  }
  return "it has model.diffusion_model.* tensors and no conditioner.embedders.*";
}

CheckpointLayout detect_checkpoint_layout(const SafetensorsFile& file) {
  if (file.contains(kSdxlBaseMarker)) return CheckpointLayout::sdxl_base;
  if (file.contains(kSdxlRefinerMarker)) return CheckpointLayout::sdxl_refiner;
  const KeyKinds k = kinds_of(file);
  const std::string f = "'" + file.path() + "' ";
  if (k.sgm_conditioner)
    throw Error(f +
                "is a Stable Diffusion XL checkpoint in Stability's layout (it has "
                "conditioner.embedders.* tensors), but neither of the two it can be: it lacks " +
                kSdxlBaseMarker + " (an SDXL base has it) and " + kSdxlRefinerMarker +
                " (an SDXL refiner has it)");
  if (k.unet && file.contains(kSd2Marker)) return CheckpointLayout::sd2;
  if (k.sd2)
    throw Error(f +
                "has tensors of a Stable Diffusion 2.x text encoder (cond_stage_model.model.*) "
                "but not " + kSd2Marker + (k.unet ? "" : " nor any UNet (model.diffusion_model.*)") +
                ": it is not a whole Stable Diffusion 2.x checkpoint");
  if (k.unet) return CheckpointLayout::sd1;
  refuse_foreign(file, k);
}

}  // namespace latent::io
