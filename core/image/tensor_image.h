#pragma once

// Conversions between decoded image tensors and 8-bit RGB images.

#include <torch/torch.h>

#include <vector>

#include "core/api/image.h"

namespace latent::image {

// VAE output [B,3,H,W] roughly in [-1,1] → (x/2+0.5).clamp(0,1) as float32 [B,H,W,3] on the CPU.
torch::Tensor decoded_to_unit_nhwc(const torch::Tensor& decoded);

// VAE output → [B,H,W,3] uint8 exactly as diffusers' image processor: round(unit·255)
// with ties to even, as numpy rounds.
torch::Tensor decoded_to_uint8(const torch::Tensor& decoded);

// [B,H,W,3] uint8 → one Image per batch item.
std::vector<api::Image> uint8_to_images(const torch::Tensor& nhwc);

// Images (all the same size) → [B,3,H,W] float32 in [-1,1], the VAE encoder's input.
torch::Tensor images_to_tensor(const std::vector<api::Image>& images);

}  // namespace latent::image
