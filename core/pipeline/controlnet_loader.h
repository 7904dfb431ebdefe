#pragma once

// Opening a ControlNet beside a loaded model: a diffusers folder (config.json and
// diffusion_pytorch_model[.fp16].safetensors) or a single .safetensors file in the original
// layout (control_model.*, fp16 or fp32), which, as diffusers' from_unet does, takes the
// architecture of the model's UNet. A ControlNet made for another family is refused before
// its weights are read.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/io/model_family.h"
#include "core/models/controlnet_model.h"

namespace latent::pipeline {

struct LoadedControlNet {
  std::string path;
  std::string name;                       // folder or file name without extension, for metadata
  std::vector<std::string> weight_files;  // what was read, for the hash
  models::ControlNetModel model{nullptr};
};

// Loads the ControlNet at `path` for a model whose UNet is `unet` (of `family`), on
// `device` in `dtype`. Throws latent::Error naming the file: not a ControlNet, another
// family's, blocks that do not fit the UNet, missing or mis-shaped tensors.
std::unique_ptr<LoadedControlNet> load_controlnet(const std::string& path,
                                                  const models::UNet2DConditionConfig& unet,
                                                  io::ModelFamily family, torch::Device device,
                                                  torch::ScalarType dtype);

// The family a ControlNet's text-embedding width belongs to ("Stable Diffusion 1.x" for
// 768, "Stable Diffusion 2.x" for 1024, "SDXL" for 2048), for the refusal messages.
std::string family_of_context_width(int64_t width);

}  // namespace latent::pipeline
