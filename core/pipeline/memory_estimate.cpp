#include "core/pipeline/memory_estimate.h"

#include <algorithm>
#include <new>

#include "core/models/attention.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/vae_decode.h"
#include "core/util/byte_format.h"
#include "core/util/cpu_allocator.h"
#include "core/util/error.h"
#include "core/util/system_memory.h"

namespace latent::pipeline {
namespace {

// Tensors of [batch, C, h, w] (C the first block's width, h × w the latents) alive at once at
// the peak of a UNet step, counted on the SD 1.5 architecture: the feed-forward of a
// full-resolution transformer block holds about 18 (GEGLU's 8·C projection, its two 4·C
// halves, the block's input, norm and residual), the skip connections and the up path's
// concatenation about 6 more. Lower resolutions add a fraction of that and are covered by it.
constexpr int64_t kUNetTensorsAtPeak = 24;

const char* dtype_text(torch::ScalarType dtype) {
  if (dtype == torch::kBFloat16) return "bf16";
  if (dtype == torch::kFloat16) return "fp16";
  return dtype == torch::kFloat32 ? "fp32" : "its precision";
}

std::string size_text(const api::SizeSettings& size) {
  std::string text = std::to_string(size.width) + "x" + std::to_string(size.height);
  if (size.batch_size > 1) text += " (batch of " + std::to_string(size.batch_size) + ")";
  return text;
}

}  // namespace

MemoryEstimate estimate_generation_memory(const models::UNet2DConditionConfig& unet,
                                          const models::AutoencoderKLConfig& vae,
                                          torch::ScalarType dtype, const api::GenerationRequest& request,
                                          bool banded_decode) {
  const int64_t e = static_cast<int64_t>(c10::elementSize(dtype));
  const int64_t f = std::max<int64_t>(1, vae.downscale_factor());
  const api::SizeSettings& size = request.size;
  const int64_t latent_h = size.height / f;
  const int64_t latent_w = size.width / f;
  const int64_t latent_pixels = latent_h * latent_w;
  const int64_t batch = size.batch_size * (request.sampling.guidance_scale > 1.0 ? 2 : 1);  // [uncond; cond]
  const int64_t width = unet.block_out_channels.empty() ? 320 : unet.block_out_channels.front();
  const int64_t heads = unet.num_attention_heads.empty() ? 8 : unet.num_attention_heads.front();

  MemoryEstimate out;
  // Full-resolution self-attention scores are computed in chunks no larger than the budget.
  const int64_t scores = std::min<int64_t>(models::kDefaultScoreBudgetBytes,
                                           batch * heads * latent_pixels * latent_pixels * 4);
  out.denoise_bytes = batch * latent_pixels * width * e * kUNetTensorsAtPeak + scores;

  // The decoder's activations, band by band above the budget; then the float32 image and
  // its 8-bit copy.
  const VaeDecodeOptions decode_options = banded_decode ? VaeDecodeOptions::low_memory() : VaeDecodeOptions();
  const int64_t decode =
      estimate_vae_decode_peak_bytes(vae, size.batch_size, latent_h, latent_w, dtype, decode_options);
  const int64_t pixels = int64_t{size.batch_size} * size.width * size.height;
  out.decode_bytes = decode + pixels * 3 * (4 + 1);
  return out;
}

MemoryEstimate check_generation_memory(const ModelBundle& model, const api::GenerationRequest& request) {
  const MemoryEstimate estimate =
      estimate_generation_memory(model.unet->config, model.vae->config(), model.dtype, request);
  if (!model.device.is_cpu()) return estimate;
  util::AvailableMemory available = util::available_memory();
  if (available.bytes < 0) return estimate;  // unknown: let it try
  // Blocks our allocator keeps for reuse are ours to use again.
  if (util::caching_cpu_allocator_installed()) available.bytes += util::cpu_allocator_stats().cached_bytes;
  if (estimate.peak_bytes() > available.bytes)
    throw Error(not_enough_memory_message(request, model.dtype, estimate.peak_bytes(), available.bytes,
                                          available.source));
  return estimate;
}

std::string not_enough_memory_message(const api::GenerationRequest& request, torch::ScalarType dtype,
                                      int64_t needed_bytes, int64_t available_bytes, const std::string& source,
                                      const std::string& how) {
  return "a " + size_text(request.size) + " image needs about " + util::format_bytes(needed_bytes) +
         " of working memory with this model in " + dtype_text(dtype) + how + ", but only " +
         util::format_bytes(available_bytes) + " is available (" + source +
         "): choose a smaller size or batch, or a lower precision such as bf16";
}

bool is_out_of_memory(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::bad_alloc&) {
    return true;
  } catch (const c10::Error& e) {
    const std::string text = e.what_without_backtrace();
    return text.find("alloc") != std::string::npos || text.find("out of memory") != std::string::npos;
  } catch (...) {
    return false;
  }
}

std::string out_of_memory_message(const api::GenerationRequest& request, const MemoryEstimate& estimate) {
  return "the computer ran out of memory while generating a " + size_text(request.size) +
         " image (estimated need " + util::format_bytes(estimate.peak_bytes()) +
         "); nothing was saved and the model stays loaded: try a smaller size or batch, "
         "or a lower precision such as bf16";
}

}  // namespace latent::pipeline
