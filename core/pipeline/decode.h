#pragma once

// The decode stage: final (or preview) latents into pixels through the VAE.

#include <torch/torch.h>

namespace latent::pipeline {

struct ModelBundle;

// Latents → [B,H,W,3] uint8 through the VAE (divides by the scaling factor first; in
// bands when the whole decode would not fit its memory budget).
torch::Tensor decode_latents(ModelBundle& model, const torch::Tensor& latents);

}  // namespace latent::pipeline
