#pragma once

// The web UI's latent upscalers: the first pass's latents interpolated to the second
// pass's size with LibTorch's interpolate (size given, align_corners at its default), the
// mode and antialiasing a built-in upscaler names (core/api/upscaler_names.h).

#include <torch/torch.h>

#include <cstdint>

#include "core/api/upscaler_names.h"

namespace latent::pipeline {

// latents [B,C,h,w] → [B,C,height,width], computed in float32 (the result is float32).
// Throws latent::Error for an upscaler that is not a latent one.
torch::Tensor upscale_latents(const torch::Tensor& latents, const api::BuiltInUpscaler& upscaler,
                              int64_t height, int64_t width);

}  // namespace latent::pipeline
