#pragma once

#include "core/training/training_progress.h"

// A one-line training progress bar on stderr: stage, step, loss, time left. In a log
// (stderr not a terminal), one line per twentieth of each stage.
void printTrainingProgress(const latent::training::TrainingProgress& progress);
