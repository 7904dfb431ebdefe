#pragma once

// The image-to-image options of generate and grid: --init-image and what goes with it
// (--strength, --mask, inpainting and outpainting).

#include <QCommandLineParser>

#include "common_options.h"
#include "core/api/generation_request.h"

struct InitImageOptions {
  OptionList options() const;
  // Fills the request's starting picture, mask and outpainting, checked as the engine checks
  // them (pipeline::validate_image_request). Without --width and --height the picture's size,
  // grown by the outpainting and rounded down to a multiple of 8, becomes the request's.
  // Throws latent::Error for a malformed value, or an option that needs --init-image without it.
  void read(const QCommandLineParser& parser, latent::api::GenerationRequest& request) const;
};
