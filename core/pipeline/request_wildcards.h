#pragma once

// A request's wildcards expanded (core/text/wildcards.h): its prompt, negative prompt,
// second prompts and hires prompts, in that order, from one generator seeded with the
// request's seed. Torch-free.

#include "core/api/generation_request.h"

namespace latent::pipeline {

// The request with its wildcards replaced; unchanged when it names no wildcards folder.
// Throws latent::Error for a missing folder or wildcard file (naming it) and for what
// expand_wildcards refuses.
api::GenerationRequest expand_request_wildcards(const api::GenerationRequest& request);

}  // namespace latent::pipeline
