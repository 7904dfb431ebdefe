#include "core/pipeline/request_validation.h"

#include <cmath>
#include <cstdio>
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

// "0.75", "1.5", "nan": the value as the user wrote it, not std::to_string's six decimals.
std::string strength_text(double strength) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", strength);
  return buffer;
}

}  // namespace

void check_strength(double strength) {
  // Written so that NaN fails too: every comparison with NaN is false.
  if (!(strength >= 0.0 && strength <= 1.0))
    throw Error("strength " + strength_text(strength) + " is out of range: use 0 to 1");
}

void validate_request(const api::GenerationRequest& r) {
  const api::SamplingSettings& sampling = r.sampling;
  if (sampling.steps < 1 || sampling.steps > kMaxSteps)
    throw Error("steps " + std::to_string(sampling.steps) + " is out of range: use 1 to " +
                std::to_string(kMaxSteps));
  check_side("width", r.size.width);
  check_side("height", r.size.height);
  if (!std::isfinite(sampling.guidance_scale) || sampling.guidance_scale < 0 || sampling.guidance_scale > 100)
    throw Error("guidance scale " + std::to_string(sampling.guidance_scale) +
                " is out of range: use 0 to 100 (1 or less turns guidance off)");
  if (r.size.batch_size < 1 || r.size.batch_size > kMaxBatch)
    throw Error("batch size " + std::to_string(r.size.batch_size) + " is out of range: use 1 to " +
                std::to_string(kMaxBatch));
  if (sampling.clip_skip < 1)
    throw Error("clip skip " + std::to_string(sampling.clip_skip) +
                " is not valid: it counts as the web UI does, 1 = the text encoder's last layer, "
                "2 = the one before it, ...");
  if (!std::isfinite(sampling.eta) || sampling.eta < 0 || sampling.eta > 1)
    throw Error("eta " + std::to_string(sampling.eta) + " is out of range: use 0 to 1");
  if (r.preview.vae_every < -1)
    throw Error("VAE preview cadence " + std::to_string(r.preview.vae_every) +
                " is not valid: use -1 (automatic), 0 (off) or a step count");
  // The request has room for these, but nothing runs them yet: refused, never ignored.
  if (!r.control_units.empty())
    throw Error("ControlNet is not supported yet: the request names " +
                std::to_string(r.control_units.size()) + " control unit(s); remove them");
  if (r.second_pass.enabled)
    throw Error("a second pass (hires fix) is not supported yet: turn it off");
}

}  // namespace latent::pipeline
