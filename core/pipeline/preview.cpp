#include "core/pipeline/preview.h"

namespace latent::pipeline {

torch::Tensor approximate_rgb(const torch::Tensor& latents) {
  // Rows: latent channels; columns: R, G, B.
  static const float kFactors[4][3] = {{0.337f, 0.216f, 0.257f},
                                       {0.166f, 0.387f, 0.047f},
                                       {-0.268f, 0.237f, 0.224f},
                                       {-0.178f, -0.201f, -0.679f}};
  static const float kBias[3] = {-0.017f, -0.056f, -0.106f};
  const auto factors = torch::from_blob(const_cast<float*>(&kFactors[0][0]), {4, 3}).clone();
  const auto bias = torch::from_blob(const_cast<float*>(kBias), {3}).clone();
  const auto x = latents.detach().to(torch::kCPU, torch::kFloat32);
  auto rgb = torch::einsum("bchw,cr->brhw", {x, factors});
  return rgb + bias.view({1, 3, 1, 1});
}

}  // namespace latent::pipeline
