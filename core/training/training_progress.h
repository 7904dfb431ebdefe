#pragma once

// What a training run reports after every optimisation step (a run stops when its cancel
// flag is set: latent::throw_if_cancelled, core/util/cancellation.h).
// Free of torch headers, so the GUI can drive training.

#include <atomic>
#include <functional>
#include <string>

namespace latent::training {

struct TrainingProgress {
  std::string stage;  // "vae", "unet", "lora", ...
  int step = 0;       // 1-based
  int total_steps = 0;
  double loss = 0;          // this step's loss
  double average_loss = 0;  // mean over the stage's recent steps
  double seconds_elapsed = 0;
  double seconds_left = 0;  // for the stage, from its pace so far
};
using TrainingObserver = std::function<void(const TrainingProgress&)>;

}  // namespace latent::training
