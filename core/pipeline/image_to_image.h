#pragma once

// Image to image and inpainting, step for step as diffusers' StableDiffusionImg2ImgPipeline
// and StableDiffusionInpaintPipeline: the picture is VAE-encoded (a latent sample drawn
// from the seeded generator), noised to the timestep that `strength` selects and denoised
// over the remaining steps. With a mask, an ordinary UNet gets the known region re-noised
// from the picture's latents and blended in after every step (the legacy method); an
// inpainting UNet (9 input channels) gets the mask and the masked picture's latents as
// extra input channels.

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <atomic>
#include <string>
#include <vector>

#include "core/pipeline/pipeline_params.h"

namespace latent::schedulers {
class Scheduler;
}

namespace latent::pipeline {

struct ModelBundle;

struct ImageToImageParams : SamplingParams {
  // RGB, 8 bits per channel, any size: resized to width×height (Pillow's Lanczos, as
  // diffusers) when it differs.
  cv::Mat init_image;
  // One 8-bit channel, white = repaint; resized like the image, then binarised at 128.
  // Empty: image to image (an inpainting model then repaints everything).
  cv::Mat mask;
  double strength = 0.75;  // 0 keeps the picture (a VAE round trip), 1 starts from noise

  static ImageToImageParams from_request(const api::GenerationRequest& request);
};

enum class ImageMode {
  image_to_image,   // no mask
  inpaint_blend,    // mask with an ordinary 4-channel UNet
  inpaint_model,    // mask with a 9-channel inpainting UNet
};
std::string image_mode_name(ImageMode mode);

struct ImageToImageOutput {
  ImageMode mode = ImageMode::image_to_image;
  torch::Tensor prompt_embeds;         // [(2)B,77,D] as fed to the UNet
  torch::Tensor init_image;            // [1,3,H,W] in [-1,1], after resizing
  torch::Tensor image_latents;         // [1,4,h,w] scaled sample; undefined for an inpainting
                                       // UNet at strength 1 (diffusers does not encode it then)
  torch::Tensor noise;                 // [B,4,h,w]
  torch::Tensor latents_init;          // [B,4,h,w] where the loop starts
  torch::Tensor mask;                  // [1,1,H,W] 0/1 (inpainting)
  torch::Tensor mask_latent;           // [1,1,h,w] nearest-downsampled mask
  torch::Tensor masked_image;          // [1,3,H,W] the picture with the repainted area 0
  torch::Tensor masked_image_latents;  // [1,4,h,w]
  int begin_index = 0;                 // first scheduler call run
  std::vector<double> timesteps;       // of the calls run
  torch::Tensor latents;               // final, [B,4,h,w] float32
  torch::Tensor images;                // [B,H,W,3] uint8, as decoded (no paste-back)
};

// Denoising steps a run of `steps` at `strength` takes (diffusers' get_timesteps:
// min(int(steps·strength), steps), in double precision). Throws latent::Error for a
// strength outside [0, 1] (check_strength).
int denoising_steps(int steps, double strength);

// The scheduler call a run of `steps` at `strength` begins with (diffusers' get_timesteps:
// t_start · order, t_start = steps − denoising_steps); num_calls() when nothing is left.
// Also where a hires fix's second pass begins.
int strength_begin_call(const schedulers::Scheduler& scheduler, int steps, double strength);

// Runs the pipeline. The observer is called after each step (index from 0 over the
// steps actually run); when `cancel` turns true the loop stops before the next step and
// throws latent::Cancelled. Bad parameters throw latent::Error before any work.
ImageToImageOutput image_to_image(ModelBundle& model, const ImageToImageParams& params,
                                  const StepObserver& observer = {},
                                  const std::atomic<bool>* cancel = nullptr);

// Rough peak memory of VAE-encoding a width×height picture with this model (band by band
// above the budget, as vae_encode does).
double vae_encode_memory_estimate_bytes(const ModelBundle& model, int width, int height);

}  // namespace latent::pipeline
