#pragma once

// VAE decoding under a memory budget. Small images decode in one piece, exactly as
// diffusers' vae.decode. When the whole decode would hold more than the budget, the
// decoder's high-resolution half runs layer by layer over the whole image, but each
// layer's work (group norm, SiLU, upsampling, convolution) is done in bands of rows:
// every band reads its neighbours' rows as a convolution would, and the norms use the
// whole image's statistics, so the result is the whole decode's, with no seam at all,
// while only a few whole activations and one band's temporaries are held at once.

#include <torch/torch.h>

#include <cstdint>

#include "core/models/autoencoder_kl.h"

namespace latent::pipeline {

// Activations a whole decode may hold before it goes band by band.
constexpr int64_t kDefaultVaeDecodeBudgetBytes = 1536ll * 1024 * 1024;

struct VaeDecodeOptions {
  int64_t budget_bytes = kDefaultVaeDecodeBudgetBytes;
  // Temporaries of one band (its float32 input rows, normalised rows, convolution output).
  int64_t band_bytes = 192ll * 1024 * 1024;
  // Above the budget, bands only where they hold less than the whole decode (a narrow VAE's
  // whole decode can hold less than one band's temporaries).
  bool bands_only_when_smaller = false;

  // Low-memory mode's (memory_plan.h): smaller bands wherever they hold less, whatever the size.
  static VaeDecodeOptions low_memory() {
    VaeDecodeOptions options;
    options.budget_bytes = 0;
    options.band_bytes = 64ll * 1024 * 1024;
    options.bands_only_when_smaller = true;
    return options;
  }
};

// Estimated peak bytes of activations for decoding latents of batch × h × w in one piece,
// in `dtype` (norms of half-precision activations run in fp32).
int64_t estimate_vae_decode_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                  int64_t latent_height, int64_t latent_width,
                                  torch::ScalarType dtype);

// The same for the decode band by band: the widest layer's input, middle and output held
// whole, plus one band's temporaries.
int64_t estimate_vae_banded_decode_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                         int64_t latent_height, int64_t latent_width,
                                         torch::ScalarType dtype, const VaeDecodeOptions& options = {});

// What vae_decode will hold for latents of these sizes: the whole decode's estimate, or
// the banded one above the budget.
int64_t estimate_vae_decode_peak_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                       int64_t latent_height, int64_t latent_width,
                                       torch::ScalarType dtype, const VaeDecodeOptions& options = {});

// True when vae_decode would go band by band for latents of these sizes ([B, C, h, w]).
bool vae_decode_needs_bands(const models::AutoencoderKLConfig& config, torch::IntArrayRef sizes,
                            torch::ScalarType dtype, const VaeDecodeOptions& options = {});

// latents [B, latent, h, w], already divided by the scaling factor → image [B, 3, h·f, w·f]
// in float32, roughly in [-1, 1], on the VAE's device.
torch::Tensor vae_decode(models::AutoencoderKL& vae, const torch::Tensor& latents,
                         const VaeDecodeOptions& options = {});

// Always band by band, each band's temporaries within `band_bytes` (for tests and benchmarks).
torch::Tensor vae_decode_in_bands(models::AutoencoderKL& vae, const torch::Tensor& latents,
                                  int64_t band_bytes);

}  // namespace latent::pipeline
