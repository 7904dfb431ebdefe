#pragma once

// How large a live preview through the tiny autoencoder (TAESD) may be. Torch-free.
//
// TAESD costs about an eighth of a full VAE decode, but at 512×512 that is still a seventh
// of an unguided bf16 step on a two-core CPU: decoded at full size after every step it
// would slow the run it shows. Its cost grows with the pixels it writes, so the preview is
// decoded from the latents scaled down until it costs at most `share` of a step, as
// measured on this run: full size where the steps are slow (large pictures, SDXL), smaller
// where they are fast. Scales come from a short ladder of halvings in area, so the size
// does not flicker with timing noise.

namespace latent::pipeline {

class TinyPreviewSize {
 public:
  static constexpr double kShareOfStep = 0.03;
  // Until the first preview is timed, previews fit this long side.
  static constexpr int kFirstLongSide = 256;
  // Never smaller than this long side (a preview too small to see helps nobody).
  static constexpr int kSmallestLongSide = 128;

  explicit TinyPreviewSize(double share_of_step = kShareOfStep);

  // The latent size [h, w] to decode for latents of `height` × `width` (latent pixels;
  // the picture is 8× larger) when a denoising step takes `step_seconds`.
  struct Size {
    int height = 0;
    int width = 0;
  };
  Size latent_size(int height, int width, double step_seconds) const;

  // Records what decoding `pixels` output pixels took.
  void decoded(long long pixels, double seconds);

  double seconds_per_pixel() const { return seconds_per_pixel_; }

 private:
  double share_;
  double seconds_per_pixel_ = 0;  // 0 until a preview is timed
};

}  // namespace latent::pipeline
