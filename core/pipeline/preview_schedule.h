#pragma once

// When to show a real VAE decode of the predicted image while denoising. Torch-free.

namespace latent::pipeline {

// Decides, step by step, whether this step's preview is a VAE decode.
//
// A fixed cadence ("every N steps") is kept as asked. The automatic cadence (N = -1)
// works from measured times instead of a guess at what a decode costs: previews may use
// `target_share` of the whole run, so after t seconds of denoising they have earned
// t·share/(1−share) seconds, and a decode happens once what is earned covers what has
// been spent plus one more decode. Until the first decode is timed, a decode is assumed
// to cost `first_guess_in_steps` denoising steps (a 512×512 SD 1.5 decode costs about
// 1.15 guided steps with this engine). This keeps the share near the target whatever the
// size, precision or device, and spreads the decodes evenly over the run.
class PreviewSchedule {
 public:
  static constexpr double kTargetShare = 0.10;
  static constexpr double kFirstGuessInSteps = 1.15;

  // every: decode every N steps (N ≥ 1), never (0), or automatic (-1).
  explicit PreviewSchedule(int every, double target_share = kTargetShare);

  // Whether step `step` (1-based) of `total` is a VAE preview; the last step never is,
  // as the final decode follows it. `denoising_seconds`: time spent denoising so far,
  // previews excluded.
  bool decode_at(int step, int total, double denoising_seconds) const;

  // Records what a VAE preview took.
  void decoded(double seconds);

  double seconds_in_decodes() const { return spent_; }

 private:
  int every_;
  double share_;
  double spent_ = 0;
  double last_decode_ = -1;  // seconds, -1 until one is timed
};

}  // namespace latent::pipeline
