#pragma once

// VAE decoding under a memory budget. Small images decode in one piece, exactly as
// diffusers' vae.decode; when the whole decode would hold more than the budget, the
// decoder's high-resolution half runs tile by tile over overlapping windows of the
// latents, and the tiles are cross-faded where they overlap so no seam shows.

#include <torch/torch.h>

#include <cstdint>

#include "core/models/autoencoder_kl.h"

namespace latent::pipeline {

// Activations a whole decode may hold before it goes tile by tile.
constexpr int64_t kDefaultVaeDecodeBudgetBytes = 1536ll * 1024 * 1024;

struct VaeDecodeOptions {
  int64_t budget_bytes = kDefaultVaeDecodeBudgetBytes;
  // Latent pixels neighbouring tiles share: the outer quarter on each side is dropped
  // (the decoder's zero padding shows there), the middle half is cross-faded.
  int64_t overlap = 24;
};

// Estimated peak bytes of activations for decoding latents of batch × h × w in one piece,
// in `dtype` (norms of half-precision activations run in fp32).
int64_t estimate_vae_decode_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                  int64_t latent_height, int64_t latent_width,
                                  torch::ScalarType dtype);

// Side of the largest square latent tile whose decode fits the budget (at least 2·overlap).
int64_t vae_tile_size(const models::AutoencoderKLConfig& config, int64_t batch,
                      torch::ScalarType dtype, const VaeDecodeOptions& options);

// True when vae_decode would go tile by tile for latents of these sizes ([B, C, h, w]).
bool vae_decode_needs_tiles(const models::AutoencoderKLConfig& config, torch::IntArrayRef sizes,
                            torch::ScalarType dtype, const VaeDecodeOptions& options = {});

// latents [B, latent, h, w], already divided by the scaling factor → image [B, 3, h·f, w·f]
// in float32, roughly in [-1, 1], on the VAE's device.
torch::Tensor vae_decode(models::AutoencoderKL& vae, const torch::Tensor& latents,
                         const VaeDecodeOptions& options = {});

// Always tile by tile, with square tiles of `tile` latent pixels (for tests and benchmarks).
torch::Tensor vae_decode_tiled(models::AutoencoderKL& vae, const torch::Tensor& latents,
                               int64_t tile, int64_t overlap);

}  // namespace latent::pipeline
