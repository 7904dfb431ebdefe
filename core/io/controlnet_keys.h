#pragma once

// Single-file ControlNets (the .safetensors files people download) in diffusers names. The
// original lllyasviel/cldm layout (control_model.*, or without the prefix as ComfyUI
// repacks them) shares the UNet's input and middle block names, translated by the UNet's
// own table (CheckpointKeyMap), and adds the zero convs, the middle block's output conv
// and the hint encoder. Files already in diffusers names pass unchanged.
// Reference: diffusers loaders/single_file_utils.py convert_controlnet_checkpoint.

#include <QJsonObject>
#include <string>

#include "core/io/state_dict.h"

namespace latent::io {

// Whether a tensor name belongs to a ControlNet in either layout.
bool is_controlnet_checkpoint(const TensorMap& tensors);

// Renames every tensor to diffusers' ControlNetModel names (views, nothing is copied).
// `unet_layout` is ControlNetConfig::unet_layout_json() of the net being loaded; a hint
// encoder of `hint_stages` stages (4 in every released ControlNet) is expected. Throws
// latent::Error naming `source` and the first tensors no rule matches.
TensorMap convert_controlnet_checkpoint(const TensorMap& tensors, const QJsonObject& unet_layout,
                                        int hint_stages, const std::string& source);

}  // namespace latent::io
