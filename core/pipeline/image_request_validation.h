#pragma once

// The checks of a request's picture fields that need neither a model nor LibTorch, so the
// command line and the GUI can refuse bad values before anything is loaded.

#include "core/api/generation_request.h"

namespace latent::pipeline {

// Checks the picture-related fields without decoding anything: files exist and look like
// images, strength in [0, 1], a known resize mode, no negative blur, padding or
// outpainting, no mask or outpainting without a picture. Throws latent::Error naming
// the value.
void validate_image_request(const api::GenerationRequest& request);

}  // namespace latent::pipeline
