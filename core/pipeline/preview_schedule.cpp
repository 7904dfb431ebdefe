#include "core/pipeline/preview_schedule.h"

namespace latent::pipeline {

PreviewSchedule::PreviewSchedule(int every, double target_share)
    : every_(every), share_(target_share) {}

bool PreviewSchedule::decode_at(int step, int total, double denoising_seconds) const {
  if (step >= total || every_ == 0) return false;
  if (every_ > 0) return step % every_ == 0;
  if (step <= 0 || denoising_seconds <= 0) return false;
  const double per_step = denoising_seconds / step;
  const double next_decode = last_decode_ >= 0 ? last_decode_ : kFirstGuessInSteps * per_step;
  const double earned = denoising_seconds * share_ / (1.0 - share_);
  return spent_ + next_decode <= earned;
}

void PreviewSchedule::decoded(double seconds) {
  spent_ += seconds;
  last_decode_ = seconds;
}

}  // namespace latent::pipeline
