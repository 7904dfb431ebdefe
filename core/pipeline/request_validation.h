#pragma once

#include "core/api/generation_request.h"

namespace latent::pipeline {

// Rejects requests no model could honour (sizes, counts, scales, clip skip below 1,
// guidance rescale outside [0, 1], SDXL size conditioning outside 0..kMaxSide, negative
// crops, aesthetic scores that are not numbers, a refiner switch outside (0, 1)) and
// what nothing runs yet (control units), and a second pass's settings, with a message
// that names the value as the command line's option does ("guidance rescale" for
// --guidance-rescale) and what is accepted. Model-dependent checks (sampler names, clip
// skip depth, memory, a refiner for a model that is not SDXL) happen in the engine.
void validate_request(const api::GenerationRequest& request);

// Image-to-image strength must lie in [0, 1] (NaN and infinities are refused); throws
// latent::Error "strength X is out of range: use 0 to 1", X as the user wrote it (%g).
// The one check both the request validation and image_to_image use.
void check_strength(double strength);

constexpr int kMaxSteps = 1000;
constexpr int kMaxBatch = 64;
constexpr int kMaxSide = 8192;

}  // namespace latent::pipeline
