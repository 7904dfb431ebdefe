#pragma once

// The decode stage: final (or preview) latents into pixels through the VAE.

#include <torch/torch.h>

#include "core/models/autoencoder_tiny.h"

namespace latent::pipeline {

struct ModelBundle;

// Latents → [B,H,W,3] uint8 through the VAE (divides by the scaling factor first; in
// bands when the whole decode would not fit its memory budget).
// With the bundle's tiny_vae set, that decodes instead (decode_latents_tiny).
torch::Tensor decode_latents(ModelBundle& model, const torch::Tensor& latents);

// Latents → [B,H,W,3] uint8 through a tiny autoencoder (TAESD): divided by its scaling
// factor, decoded in its precision on its device, as diffusers' pipelines decode with one.
torch::Tensor decode_latents_tiny(models::AutoencoderTiny vae, const torch::Tensor& latents);

// The same for a live preview `height` × `width` latent pixels large: the latents are
// averaged down to that size first (the picture comes out 8× that), which costs a share
// of the full decode in proportion to the pixels.
torch::Tensor decode_preview_tiny(models::AutoencoderTiny vae, const torch::Tensor& latents, int height, int width);

}  // namespace latent::pipeline
