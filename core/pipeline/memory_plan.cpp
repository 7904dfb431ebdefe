#include "core/pipeline/memory_plan.h"

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_encoder_residency.h"
#include "core/pipeline/vae_decode.h"
#include "core/util/byte_format.h"
#include "core/util/cpu_allocator.h"
#include "core/util/error.h"
#include "core/util/system_memory.h"

namespace latent::pipeline {

MemoryPlan choose_memory_plan(const MemoryFigures& figures, bool asked) {
  MemoryPlan plan;
  plan.asked = asked;
  plan.normal_bytes = figures.normal.peak_bytes();
  plan.low_memory_bytes = figures.low_memory.peak_bytes();
  plan.available_bytes = figures.available_bytes;
  plan.text_encoder_bytes = figures.text_encoder_bytes;
  const bool known = figures.available_bytes >= 0;
  plan.low_memory = asked || (known && plan.normal_bytes > plan.available_bytes);
  plan.fits = !known || plan.needed_bytes() <= plan.room_bytes();
  plan.decode_in_bands = plan.low_memory && figures.low_memory_bands;
  plan.estimate = plan.low_memory ? figures.low_memory : figures.normal;
  return plan;
}

MemoryPlan plan_generation_memory(const ModelBundle& model, const api::GenerationRequest& request) {
  MemoryFigures figures;
  const auto& unet = model.unet->config;
  const auto& vae = model.vae->config();
  figures.normal = estimate_generation_memory(unet, vae, model.dtype, request);
  figures.low_memory = estimate_generation_memory(unet, vae, model.dtype, request, /*banded_decode=*/true);
  const int64_t f = vae.downscale_factor();
  const std::vector<int64_t> latents{request.size.batch_size, vae.latent_channels, request.size.height / f,
                                     request.size.width / f};
  figures.low_memory_bands = vae_decode_needs_bands(vae, latents, model.vae_dtype(), VaeDecodeOptions::low_memory());
  // Released ones have given their memory back already.
  if (!model.text_encoder_release.released) figures.text_encoder_bytes = text_encoder_bytes(model);
  if (model.device.is_cpu()) {  // a GPU's memory is its own
    const util::AvailableMemory available = util::available_memory();
    figures.available_bytes = available.bytes;
    figures.available_source = available.source;
    // Blocks our allocator keeps for reuse are ours to use again.
    if (available.bytes >= 0 && util::caching_cpu_allocator_installed())
      figures.available_bytes += util::cpu_allocator_stats().cached_bytes;
  }
  const MemoryPlan plan = choose_memory_plan(figures, request.low_memory);
  if (!plan.fits)
    throw Error(not_enough_memory_message(request, model.dtype, plan.needed_bytes(), plan.room_bytes(),
                                          figures.available_source, plan.low_memory ? " even in low-memory mode" : ""));
  return plan;
}

std::string describe_memory_plan(const MemoryPlan& plan) {
  if (!plan.low_memory) return "normal memory use";
  const std::string why = plan.asked ? "as asked"
                                     : "a normal run needs about " + util::format_bytes(plan.normal_bytes) + ", " +
                                           util::format_bytes(plan.available_bytes) + " is available";
  return "low-memory mode (" + why + "): text encoders released after encoding, VAE decoded " +
         (plan.decode_in_bands ? "in bands" : "whole (bands would hold more)");
}

MemoryPlanScope::MemoryPlanScope(ModelBundle& model, const MemoryPlan& plan) : model_(model) {
  model_.low_memory = plan.low_memory;
}

MemoryPlanScope::~MemoryPlanScope() { model_.low_memory = false; }

}  // namespace latent::pipeline
