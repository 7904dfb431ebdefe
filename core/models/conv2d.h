#pragma once

// Convolution layers whose weight may be held in 8 bits (quantized_weights.h).

#include <torch/torch.h>

namespace latent::models {

// layer(x): torch::nn::Conv2d's own forward, or with an 8-bit weight the same convolution
// (zero padding) on the weight dequantized to x's precision.
torch::Tensor conv2d(const torch::nn::Conv2d& layer, const torch::Tensor& x);

}  // namespace latent::models
