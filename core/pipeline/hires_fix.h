#pragma once

// The web UI's "Hires. fix" as diffusers pieces compose it (the definition the golden data
// pins, tests/data/hires/PORTING-NOTES.md): text to image at the requested size, to latents;
// an upscale, either of the latents (LibTorch's interpolate) or of the decoded picture
// (Lanczos, or an upscaler network, then VAE-encoded again); then image to image over the
// upscaled result at a denoising strength, with a new generator seeded as the first.

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/pipeline/pipeline_params.h"

namespace latent::pipeline {

struct ModelBundle;

// Where the upscale goes, in pixels, as the web UI's calculate_target_resolution: a factor
// (int(side × scale)), or a size; one side 0 keeps the picture's aspect; both given, the
// picture is scaled to cover the size and the latents cropped to it (the cells cut off
// split as the web UI splits them, the smaller half first).
struct HiresTarget {
  int width = 0;  // what the upscale reaches
  int height = 0;
  int crop_width = 0;  // latent cells cut off after the upscale
  int crop_height = 0;
  int second_width = 0;  // the second pass's size: the target in whole latent cells, cropped
  int second_height = 0;
};
HiresTarget hires_target(int width, int height, const api::SecondPass& pass, int latent_factor);

// Resizes 8-bit RGB to width × height: an upscaler network's work for the picture path.
using ImageResizer = std::function<cv::Mat(const cv::Mat& rgb, int width, int height)>;

struct HiresParams : SamplingParams {  // the first pass
  // The upscale and the second pass: size or factor, upscaler (a built-in name,
  // core/api/upscaler_names.h), steps (0 = the first pass's), strength, sampler and prompts
  // (empty = the first pass's). `enabled` is not looked at.
  api::SecondPass pass;
  // When set, the picture path resizes with this (an upscaler network) instead of Lanczos;
  // `pass.upscaler` then names the network for messages.
  ImageResizer resize_image;

  // From a request with second_pass enabled (the network resizer is left to the caller).
  static HiresParams from_request(const api::GenerationRequest& request);
  // The second pass's sampling parameters: its size, steps, sampler and prompts.
  SamplingParams second_pass(const HiresTarget& target) const;
};

struct HiresOutput {
  // Pass 1.
  torch::Tensor first_noise;  // [B,4,h,w], the first generator's first draw
  std::vector<double> first_timesteps;
  torch::Tensor first_latents;  // final, scaled latent space, float32
  // The picture path: the first pass decoded, and resized to the target ([B,H,W,3] uint8).
  torch::Tensor first_images;
  torch::Tensor upscaled_images;
  // Pass 2.
  torch::Tensor image_latents;  // where it starts before noise: the interpolated latents, or
                                // the upscaled picture's VAE sample
  torch::Tensor noise;          // the second generator's draw for add_noise
  torch::Tensor latents_init;   // image_latents noised to the first call run
  int begin_index = 0;
  std::vector<double> second_timesteps;
  torch::Tensor latents;  // final, float32
  torch::Tensor images;   // [B,H,W,3] uint8
};

// Runs both passes. The observer sees one run: the second pass's steps count on from the
// first's, and the total counts both; `cancel` stops either pass before its next step
// (latent::Cancelled). Bad parameters throw latent::Error before any work.
HiresOutput hires_fix(ModelBundle& model, const HiresParams& params, const StepObserver& observer = {},
                      const std::atomic<bool>* cancel = nullptr);

// The second pass alone, from a picture already upscaled (8-bit RGB at the target size) as
// the picture path runs it: preprocess, encode with the generator's first draw, noise with
// its second. For checking the second pass apart from the first's rounding.
HiresOutput hires_second_pass_from_picture(ModelBundle& model, const HiresParams& params, const cv::Mat& upscaled,
                                           const StepObserver& observer = {},
                                           const std::atomic<bool>* cancel = nullptr);

}  // namespace latent::pipeline
