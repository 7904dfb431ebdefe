#pragma once

// Cheap previews of a predicted clean latent, without the VAE.

#include <torch/torch.h>

namespace latent::pipeline {

// SD 1.x latents [B,4,h,w] → approximate RGB [B,3,h,w] in about [-1,1], by the linear
// map other programs use (see shared REFERENCE: Previews). One multiply per pixel:
// far below 1% of a UNet step.
torch::Tensor approximate_rgb(const torch::Tensor& latents);

}  // namespace latent::pipeline
