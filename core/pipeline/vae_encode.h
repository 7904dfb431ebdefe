#pragma once

// VAE encoding under a memory budget, the decoder's banded method (vae_decode.h) run the
// other way: small pictures encode in one piece, exactly as diffusers' vae.encode; above
// the budget the encoder's high-resolution half runs layer by layer over the whole picture,
// each layer's work done in bands of rows with the whole picture's norm statistics, so the
// result is the whole encode's, with no seam at all.

#include <torch/torch.h>

#include <cstdint>

#include "core/models/autoencoder_kl.h"
#include "core/pipeline/vae_decode.h"

namespace latent::pipeline {

// Estimated peak bytes of activations for encoding a batch × height × width picture in one
// piece, in `dtype` (norms of half-precision activations run in fp32).
int64_t estimate_vae_encode_bytes(const models::AutoencoderKLConfig& config, int64_t batch, int64_t height,
                                  int64_t width, torch::ScalarType dtype);

// The same band by band: the first level's input, middle and output held whole, plus one
// band's temporaries.
int64_t estimate_vae_banded_encode_bytes(const models::AutoencoderKLConfig& config, int64_t batch, int64_t height,
                                         int64_t width, torch::ScalarType dtype, const VaeDecodeOptions& options = {});

// True when vae_encode would go band by band for a picture of these sizes ([B, 3, H, W]).
bool vae_encode_needs_bands(const models::AutoencoderKLConfig& config, torch::IntArrayRef sizes,
                            torch::ScalarType dtype, const VaeDecodeOptions& options = {});

// image [B, 3, H, W] in [-1, 1] → the latent distribution, as AutoencoderKL::encode.
models::LatentDistribution vae_encode(models::AutoencoderKL& vae, const torch::Tensor& image,
                                      const VaeDecodeOptions& options = {});

// Always band by band, each band's temporaries within `band_bytes` (for tests and benchmarks).
models::LatentDistribution vae_encode_in_bands(models::AutoencoderKL& vae, const torch::Tensor& image,
                                               int64_t band_bytes);

}  // namespace latent::pipeline
