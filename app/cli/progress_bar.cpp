#include "progress_bar.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace {

bool stderrIsTerminal() {
  static const bool terminal = ::isatty(STDERR_FILENO) == 1;
  return terminal;
}

}  // namespace

void printProgress(const latent::api::StepProgress& p) {
  constexpr int kWidth = 30;
  const int filled = p.total_steps > 0 ? kWidth * p.step / p.total_steps : 0;
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  if (stderrIsTerminal()) {
    std::fprintf(stderr, "\r[%s] %d/%d  %.2f s/step  %.0f s left   ", bar.c_str(), p.step,
                 p.total_steps, p.seconds_per_step, p.seconds_left);
  } else {
    // In a log, a line per tenth of the run instead of a redrawn bar.
    const int tenth = p.total_steps * 10 > 0 ? p.step * 10 / p.total_steps : 0;
    const int before = p.total_steps * 10 > 0 ? (p.step - 1) * 10 / p.total_steps : 0;
    if (tenth == before && p.step != p.total_steps && p.step != 1) return;
    std::fprintf(stderr, "[%s] %d/%d  %.2f s/step  %.0f s left\n", bar.c_str(), p.step,
                 p.total_steps, p.seconds_per_step, p.seconds_left);
  }
  std::fflush(stderr);
}

void finishProgress() {
  if (stderrIsTerminal()) std::fprintf(stderr, "\n");
}
