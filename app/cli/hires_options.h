#pragma once

// generate's --hires-* options: the web UI's "Hires. fix" (core/pipeline/hires_fix.h).

#include <QCommandLineParser>

#include "common_options.h"
#include "core/api/generation_request.h"

struct HiresOptions {
  OptionList options() const;
  // Fills `pass` (enabled when --hires-scale, --hires-size or --hires-upscaler is given);
  // throws latent::Error for a malformed value, an upscaler that is neither a built-in
  // name nor a file, or a --hires-* option without the hires fix.
  void read(const QCommandLineParser& parser, latent::api::SecondPass& pass) const;
};
