#pragma once

// A control map as a ControlNet takes it, after diffusers' prepare_image
// (control_image_processor: VaeImageProcessor without normalisation).

#include <torch/torch.h>

#include <opencv2/core.hpp>

namespace latent::pipeline {

// An 8-bit picture (1 or 3 channels) → [1, 3, height, width] float32 in [0, 1] (not
// [-1, 1]): Pillow's Lanczos to the size when it differs (a grey picture resized as grey,
// then made RGB), x/255. A CV_32F map (the inpaint condition: [0, 1] with masked pixels
// −1) is taken as diffusers takes a tensor: nearest to the size, values untouched.
// Throws latent::Error for other kinds of picture.
torch::Tensor control_image_tensor(const cv::Mat& map, int width, int height);

}  // namespace latent::pipeline
