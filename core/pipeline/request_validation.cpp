#include "core/pipeline/request_validation.h"

#include <cmath>
#include <string>

#include "core/util/error.h"

namespace latent::pipeline {
namespace {

void check_side(const char* name, int value) {
  if (value < 8 || value > kMaxSide || value % 8 != 0)
    throw Error(std::string(name) + " " + std::to_string(value) +
                " is not possible: it must be a multiple of 8 between 8 and " +
                std::to_string(kMaxSide) + " (the VAE works on 8x8-pixel cells)");
}

}  // namespace

void validate_request(const GenerationRequest& r) {
  if (r.steps < 1 || r.steps > kMaxSteps)
    throw Error("steps " + std::to_string(r.steps) + " is out of range: use 1 to " +
                std::to_string(kMaxSteps));
  check_side("width", r.width);
  check_side("height", r.height);
  if (!std::isfinite(r.guidance_scale) || r.guidance_scale < 0 || r.guidance_scale > 100)
    throw Error("guidance scale " + std::to_string(r.guidance_scale) +
                " is out of range: use 0 to 100 (1 or less turns guidance off)");
  if (r.batch_size < 1 || r.batch_size > kMaxBatch)
    throw Error("batch size " + std::to_string(r.batch_size) + " is out of range: use 1 to " +
                std::to_string(kMaxBatch));
  if (r.clip_skip < 0) throw Error("clip skip " + std::to_string(r.clip_skip) + " must not be negative");
  if (!std::isfinite(r.eta) || r.eta < 0 || r.eta > 1)
    throw Error("eta " + std::to_string(r.eta) + " is out of range: use 0 to 1");
  if (r.vae_preview_every < -1)
    throw Error("VAE preview cadence " + std::to_string(r.vae_preview_every) +
                " is not valid: use -1 (automatic), 0 (off) or a step count");
}

}  // namespace latent::pipeline
