#pragma once

#include "core/pipeline/generation_request.h"

namespace latent::pipeline {

// Rejects requests no model could honour (sizes, counts, scales), with a message
// that names the value and what is accepted. Model-dependent checks (sampler
// names, clip skip depth, memory) happen in the engine.
void validate_request(const GenerationRequest& request);

constexpr int kMaxSteps = 1000;
constexpr int kMaxBatch = 64;
constexpr int kMaxSide = 8192;

}  // namespace latent::pipeline
