#pragma once

// Floating-point work of the networks, counted from their configs: two operations per
// multiply-add of every convolution, linear layer and attention product. Norms,
// activations and element-wise work are left out (they are memory-bound and small).

#include <cstdint>

#include "core/models/autoencoder_kl.h"
#include "core/models/clip_text_model.h"
#include "core/models/unet_2d_condition.h"

namespace latent::pipeline {

struct FlopCount {
  double conv3x3 = 0;    // convolutions with a kernel larger than 1×1
  double conv1x1 = 0;    // 1×1 convolutions (shortcuts, proj_in/proj_out, quant convs)
  double linear = 0;     // linear layers (q/k/v/out projections, feed-forward, time embedding)
  double attention = 0;  // q·kᵀ and softmax·v

  double total() const { return conv3x3 + conv1x1 + linear + attention; }
  FlopCount& operator+=(const FlopCount& other);
};

// One UNet call on a batch of `batch` latents of latent_height × latent_width, with
// `context_tokens` text tokens (77 for SD).
FlopCount unet_flops(const models::UNet2DConditionConfig& config, int64_t batch,
                     int64_t latent_height, int64_t latent_width, int64_t context_tokens = 77);

// The VAE decoder (post_quant_conv included) for latents of latent_height × latent_width.
FlopCount vae_decoder_flops(const models::AutoencoderKLConfig& config, int64_t batch,
                            int64_t latent_height, int64_t latent_width);

// The VAE encoder (quant_conv included) for images of height × width pixels.
FlopCount vae_encoder_flops(const models::AutoencoderKLConfig& config, int64_t batch,
                            int64_t height, int64_t width);

// The CLIP text encoder for `batch` prompts of `tokens` tokens.
FlopCount text_encoder_flops(const models::CLIPTextConfig& config, int64_t batch,
                             int64_t tokens = 77);

}  // namespace latent::pipeline
