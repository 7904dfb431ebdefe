#pragma once

#include "core/pipeline/generation_request.h"

// A one-line progress bar on stderr: step, seconds per step, time left.
void printProgress(const latent::pipeline::StepProgress& progress);
void finishProgress();
