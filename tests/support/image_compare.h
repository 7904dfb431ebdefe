#pragma once

// The comparison of a generated 8-bit image with diffusers' golden one. The same run on
// another CPU (other vector units, other thread counts) sums in another order, so a few
// values may round the other way: the images agree when at least 99.9% of their values
// are within `max_abs_diff` (usually 1) of the expected ones.

#include <torch/torch.h>

#include <QString>

namespace latent::test {

// The share of values that must be within the tolerance.
constexpr double kMinFractionWithin = 0.999;

// True when `actual` and `expected` (uint8 images of any layout, the same shape) agree as
// above; otherwise `report` says how far they are apart ("only 98.7% of the pixel values
// are within ±1 of the expected image (max diff 12)", or the shapes).
bool images_agree(const torch::Tensor& actual, const torch::Tensor& expected, int max_abs_diff,
                  QString* report);

}  // namespace latent::test

// Compares inside a Qt Test function and fails it with the report.
#define LATENT_COMPARE_IMAGES(actual, expected, max_abs_diff)                              \
  do {                                                                                     \
    QString latent_report_;                                                                \
    if (!latent::test::images_agree((actual), (expected), (max_abs_diff), &latent_report_)) \
      QFAIL(qPrintable(latent_report_));                                                   \
  } while (false)
