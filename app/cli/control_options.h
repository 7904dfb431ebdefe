#pragma once

// generate's ControlNet options: repeatable --control units and --control-guess-mode
// (core/pipeline/control_guidance.h).

#include <QCommandLineParser>

#include "common_options.h"
#include "core/api/generation_request.h"

struct ControlOptions {
  OptionList options() const;
  // Fills the request's control units and guess mode. A unit without scale= takes
  // diffusers' default for the run: 0.8 for image to image (an init image without a
  // mask), 1 otherwise; call after the init image and mask are read. Throws latent::Error
  // for a malformed value or a picture or model that does not exist.
  void read(const QCommandLineParser& parser, latent::api::GenerationRequest& request) const;
};
