#include "training_progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

void printTrainingProgress(const latent::training::TrainingProgress& p) {
  static const bool terminal = ::isatty(STDERR_FILENO) == 1;
  constexpr int kWidth = 24;
  const int filled = p.total_steps > 0 ? kWidth * p.step / p.total_steps : 0;
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  const double perStep = p.step > 0 ? p.seconds_elapsed / p.step : 0;
  if (terminal) {
    std::fprintf(stderr, "\r%-5s [%s] %d/%d  loss %.4f (mean %.4f)  %.2f s/step  %.0f s left   ", p.stage.c_str(),
                 bar.c_str(), p.step, p.total_steps, p.loss, p.average_loss, perStep, p.seconds_left);
    if (p.step == p.total_steps) std::fprintf(stderr, "\n");
  } else {
    const int part = p.total_steps > 0 ? p.step * 20 / p.total_steps : 0;
    const int before = p.total_steps > 0 ? (p.step - 1) * 20 / p.total_steps : 0;
    if (part == before && p.step != 1) return;
    std::fprintf(stderr, "%-5s [%s] %d/%d  loss %.4f (mean %.4f)  %.2f s/step  %.0f s left\n", p.stage.c_str(),
                 bar.c_str(), p.step, p.total_steps, p.loss, p.average_loss, perStep, p.seconds_left);
  }
  std::fflush(stderr);
}
