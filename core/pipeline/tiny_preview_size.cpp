#include "core/pipeline/tiny_preview_size.h"

#include <algorithm>
#include <cmath>

namespace latent::pipeline {

namespace {

constexpr int kLatentToPixels = 8;

// Area scales 1, 1/2, 1/4, … as side scales 1, 1/√2, 1/2, …: the largest one at most `wanted`.
double ladder_scale(double wanted) {
  if (wanted >= 1.0) return 1.0;
  double scale = 1.0;
  while (scale * scale > wanted) scale /= std::sqrt(2.0);
  return scale;
}

}  // namespace

TinyPreviewSize::TinyPreviewSize(double share_of_step) : share_(share_of_step) {}

TinyPreviewSize::Size TinyPreviewSize::latent_size(int height, int width, double step_seconds) const {
  const int long_side = std::max(height, width) * kLatentToPixels;
  const double smallest = std::min(1.0, static_cast<double>(kSmallestLongSide) / long_side);
  double scale;
  if (seconds_per_pixel_ <= 0 || step_seconds <= 0) {
    scale = std::min(1.0, static_cast<double>(kFirstLongSide) / long_side);
  } else {
    const double affordable_pixels = share_ * step_seconds / seconds_per_pixel_;
    const double pixels = static_cast<double>(height) * width * kLatentToPixels * kLatentToPixels;
    scale = ladder_scale(affordable_pixels / pixels);
  }
  scale = std::max(scale, smallest);
  const auto scaled = [&](int side) { return std::max(1, static_cast<int>(std::lround(side * scale))); };
  return {scaled(height), scaled(width)};
}

void TinyPreviewSize::decoded(long long pixels, double seconds) {
  if (pixels <= 0 || seconds <= 0) return;
  const double observed = seconds / static_cast<double>(pixels);
  // A moving average: one slow decode (another program woke up) does not halve the preview.
  seconds_per_pixel_ = seconds_per_pixel_ <= 0 ? observed : 0.7 * seconds_per_pixel_ + 0.3 * observed;
}

}  // namespace latent::pipeline
