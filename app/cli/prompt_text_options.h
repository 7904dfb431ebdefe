#pragma once

// generate's options for the text around the prompt: saved styles (--style, --styles-file,
// the web UI's styles.csv, core/text/prompt_styles.h) and wildcards (--wildcards,
// core/text/wildcards.h).

#include <QCommandLineParser>

#include "common_options.h"
#include "core/api/generation_request.h"

struct PromptTextOptions {
  OptionList options() const;
  // Applies the --style styles, in order, to the request's prompt and negative prompt (as the
  // web UI does, before any wildcard is drawn) and sets its wildcards folder. Throws
  // latent::Error for --style without --styles-file, a style the file lacks, an unreadable
  // styles file and a wildcards folder that does not exist.
  void read(const QCommandLineParser& parser, latent::api::GenerationRequest& request) const;
};
