#pragma once

// Everything the form holds: what to generate, with which model, and how often.

#include "core/pipeline/generation_request.h"

namespace latent::ui {

struct GenerationSettings {
  pipeline::GenerationRequest request;
  pipeline::LoadOptions model;
  bool seedLocked = false;  // unlocked: every Generate draws a fresh seed
  int batchCount = 1;       // runs one after another, with seeds seed, seed+1, ...
};

}  // namespace latent::ui
