#pragma once

// Working memory a generation needs beyond the loaded weights, estimated from the model's
// configs and the request before any work starts, so that a request the machine cannot
// hold (4096×4096 on a laptop) is refused with figures instead of ending in the kernel's
// out-of-memory killer half an hour later.

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>

#include "core/models/autoencoder_kl.h"
#include "core/models/unet_2d_condition.h"
#include "core/api/generation_request.h"

namespace latent::pipeline {

struct ModelBundle;

struct MemoryEstimate {
  int64_t denoise_bytes = 0;  // one guided UNet step: activations and attention scores
  int64_t decode_bytes = 0;   // the VAE decode (tiled above its budget) and the output pixels
  int64_t peak_bytes() const { return std::max(denoise_bytes, decode_bytes); }
};

// `banded_decode`: the VAE decoded as low-memory mode decodes it (VaeDecodeOptions::low_memory).
MemoryEstimate estimate_generation_memory(const models::UNet2DConditionConfig& unet,
                                          const models::AutoencoderKLConfig& vae,
                                          torch::ScalarType dtype, const api::GenerationRequest& request,
                                          bool banded_decode = false);

// "a 512x512 image needs about 3.1 GiB of working memory with this model in fp32<how>, but
// only 2.0 GiB is available (<source>): choose a smaller size ...".
std::string not_enough_memory_message(const api::GenerationRequest& request, torch::ScalarType dtype,
                                      int64_t needed_bytes, int64_t available_bytes, const std::string& source,
                                      const std::string& how = "");

// Throws latent::Error with the estimate and the memory available when the request would not
// fit (see util::available_memory). Returns the estimate. CPU models only: a GPU's memory is
// its own, and LibTorch reports running out of it as an error we catch.
MemoryEstimate check_generation_memory(const ModelBundle& model, const api::GenerationRequest& request);

// True for what running out of memory looks like from LibTorch and the standard library:
// std::bad_alloc, or a c10::Error from an allocator ("can't allocate memory",
// "out of memory").
bool is_out_of_memory(const std::exception_ptr& error);

// The message a generation that ran out of memory part-way reports to the user.
std::string out_of_memory_message(const api::GenerationRequest& request, const MemoryEstimate& estimate);

}  // namespace latent::pipeline
