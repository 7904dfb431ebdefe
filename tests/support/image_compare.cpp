#include "tests/support/image_compare.h"

#include <sstream>

namespace latent::test {

bool images_agree(const torch::Tensor& actual_in, const torch::Tensor& expected_in, int max_abs_diff,
                  QString* report) {
  const auto actual = actual_in.detach().to(torch::kCPU, torch::kInt32);
  const auto expected = expected_in.detach().to(torch::kCPU, torch::kInt32);
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream s;
    s << "image shape " << actual.sizes() << " differs from expected " << expected.sizes();
    *report = QString::fromStdString(s.str());
    return false;
  }
  if (actual.numel() == 0) return true;
  const auto diff = (actual - expected).abs();
  const double within = (diff <= max_abs_diff).to(torch::kFloat64).mean().item<double>();
  if (within >= kMinFractionWithin) return true;
  *report = QString("only %1% of the pixel values are within ±%2 of the expected image (max diff %3)")
                .arg(within * 100)
                .arg(max_abs_diff)
                .arg(diff.max().item<int>());
  return false;
}

}  // namespace latent::test
