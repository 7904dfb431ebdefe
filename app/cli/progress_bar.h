#pragma once

#include "core/api/generation_result.h"

// A one-line progress bar on stderr: step, seconds per step, time left.
void printProgress(const latent::api::StepProgress& progress);
void finishProgress();
