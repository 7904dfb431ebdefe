#pragma once

// The layouts of single-file checkpoints Latent Studio reads, told apart by the keys that
// mark them (as diffusers' loaders/single_file_utils.py infer_diffusers_model_type does),
// never by tensor sizes:
//  - Stable Diffusion 1.x, original/ldm names: model.diffusion_model.* (UNet),
//    first_stage_model.* (VAE), cond_stage_model.transformer.* (CLIP text encoder);
//  - SDXL base, Stability's SGM names: the same UNet and VAE prefixes,
//    conditioner.embedders.0.transformer.* (text_encoder, transformers names) and
//    conditioner.embedders.1.model.* (text_encoder_2 in OpenCLIP form);
//  - SDXL refiner: conditioner.embedders.0.model.* (its only text encoder, OpenCLIP's);
//  - Stable Diffusion 2.x, original/ldm names: the UNet and VAE prefixes of 1.x and
//    cond_stage_model.model.* (OpenCLIP ViT-H in OpenCLIP's names, all its layers kept
//    although SD 2 reads the penultimate one).

#include <string>
#include <vector>

#include "core/io/model_family.h"
#include "core/io/safetensors.h"

namespace latent::io {

enum class CheckpointLayout { sd1, sd2, sdxl_base, sdxl_refiner };

// How a text encoder is stored inside a single file.
enum class TextEncoderForm {
  transformers,  // transformers' CLIPTextModel names under the prefix (text_model.*)
  open_clip,     // OpenCLIP's names (see open_clip_keys.h)
};

struct TextEncoderSlot {
  std::string name;    // the diffusers folder it becomes: "text_encoder", "text_encoder_2"
  std::string prefix;  // of its keys in the file, with the trailing dot
  TextEncoderForm form = TextEncoderForm::transformers;
};

// The family a layout holds: sd1, sd2, sdxl_base, sdxl_refiner.
ModelFamily family_of(CheckpointLayout layout);

// The text encoders of a layout, in the family's order.
const std::vector<TextEncoderSlot>& text_encoder_slots(CheckpointLayout layout);

// The bundled config folder (under the resources folder) for a layout: "sd15",
// "sdxl_base", "sdxl_refiner", and for SD 2.x, whose weights cannot tell v-prediction from
// epsilon, "sd21_768" (v, as diffusers reads a 2.x single file) unless `prediction` is
// "epsilon": "sd2_base".
std::string bundled_config_folder(CheckpointLayout layout, const std::string& prediction = "");

// The key a file's tensors must include for the layout, in words for messages
// ("conditioner.embedders.1.model.* (OpenCLIP text_encoder_2)").
std::string layout_evidence(CheckpointLayout layout);

// The layout of a single file. Throws latent::Error naming the file and saying what it
// is instead (a LoRA, a VAE alone, Stable Diffusion 2.x, ...) when it is none of them.
CheckpointLayout detect_checkpoint_layout(const SafetensorsFile& file);

}  // namespace latent::io
