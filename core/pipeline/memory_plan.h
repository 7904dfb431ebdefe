#pragma once

// Normal or low-memory mode for one generation. Low-memory mode releases the text encoders
// after encoding (loading them again from the mapped files when next needed,
// text_encoder_residency.h) and decodes the VAE in bands (vae_decode.h, where bands hold less
// than the whole decode): the same image, a little slower. It is chosen when the memory estimate (memory_estimate.h) says the normal
// way would not fit in the memory available and low-memory mode would, or when asked for.

#include <cstdint>
#include <string>

#include "core/api/generation_request.h"
#include "core/pipeline/memory_estimate.h"

namespace latent::pipeline {

struct ModelBundle;

// What the choice is made from.
struct MemoryFigures {
  int64_t available_bytes = -1;  // util::available_memory(); -1: unknown
  std::string available_source;  // what limited it, for messages
  int64_t text_encoder_bytes = 0;  // given back by releasing the text encoders
  MemoryEstimate normal;           // the working memory of the normal way
  MemoryEstimate low_memory;       // with the VAE decoded as low-memory mode decodes it
  bool low_memory_bands = true;    // whether that is in bands (VaeDecodeOptions::low_memory)
};

struct MemoryPlan {
  bool low_memory = false;
  bool asked = false;  // low-memory mode because the request asked for it
  bool fits = true;    // false: neither way fits (the run is refused)
  bool decode_in_bands = false;  // low-memory mode decodes the VAE in bands
  int64_t normal_bytes = 0;      // working memory of the normal way
  int64_t low_memory_bytes = 0;  // and of low-memory mode
  int64_t available_bytes = -1;  // MemoryFigures::available_bytes
  int64_t text_encoder_bytes = 0;
  MemoryEstimate estimate;  // of the way chosen

  // What the way chosen needs and has.
  int64_t needed_bytes() const { return low_memory ? low_memory_bytes : normal_bytes; }
  int64_t room_bytes() const { return available_bytes + (low_memory ? text_encoder_bytes : 0); }
};

// Normal when it fits or nothing is known, unless `asked`; else low-memory mode, which
// `fits` when its needs stay within the memory available plus the text encoders' bytes.
MemoryPlan choose_memory_plan(const MemoryFigures& figures, bool asked);

// The figures for `request` on `model` (CPU models; on other devices the memory available
// is left unknown), the choice, and a refusal (latent::Error with the estimate and the
// memory available) when neither way fits.
MemoryPlan plan_generation_memory(const ModelBundle& model, const api::GenerationRequest& request);

// For the status line: "low-memory mode (needs about 3.1 GiB, 2.0 GiB available): text
// encoders released after encoding, VAE decoded in bands", or "normal memory use".
std::string describe_memory_plan(const MemoryPlan& plan);

// While alive, `model` runs as `plan` says (ModelBundle::low_memory); the text encoders
// stay released afterwards until next needed.
class MemoryPlanScope {
 public:
  MemoryPlanScope(ModelBundle& model, const MemoryPlan& plan);
  ~MemoryPlanScope();
  MemoryPlanScope(const MemoryPlanScope&) = delete;
  MemoryPlanScope& operator=(const MemoryPlanScope&) = delete;

 private:
  ModelBundle& model_;
};

}  // namespace latent::pipeline
