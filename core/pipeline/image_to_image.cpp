// Image to image and inpainting, after diffusers' StableDiffusionImg2ImgPipeline and
// StableDiffusionInpaintPipeline (pipelines/stable_diffusion/).
#include "core/pipeline/image_to_image.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/image/image_prep.h"
#include "core/pipeline/decode.h"
#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/latents.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/request_validation.h"
#include "core/pipeline/step_cache.h"
#include "core/pipeline/text_schedule.h"
#include "core/pipeline/vae_encode.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

// Pixels → [1,3,H,W] float32 in [-1,1] as diffusers' VaeImageProcessor: x/255, then 2x−1.
torch::Tensor image_tensor(const cv::Mat& rgb, int width, int height) {
  const cv::Mat fitted = image::resize_lanczos(rgb, width, height);
  const auto hwc = torch::from_blob(fitted.data, {height, width, 3}, torch::kUInt8).clone();
  const auto unit = hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0);
  return (unit * 2.0 - 1.0).contiguous();  // [1,3,H,W]
}

// Mask → [1,1,H,W] float32 of 0 and 1: x/255 binarised at 0.5 (diffusers' mask processor).
torch::Tensor mask_tensor(const cv::Mat& grey, int width, int height) {
  const cv::Mat fitted = image::resize_lanczos(grey, width, height);
  const auto hw = torch::from_blob(fitted.data, {height, width}, torch::kUInt8).clone();
  const auto unit = hw.to(torch::kFloat32).div(255.0);
  return (unit >= 0.5).to(torch::kFloat32).view({1, 1, height, width});
}

void check_images(const ImageToImageParams& p) {
  if (p.init_image.empty()) throw Error("image to image needs a starting picture");
  if (p.init_image.depth() != CV_8U || p.init_image.channels() != 3)
    throw Error("the starting picture must be 8-bit RGB");
  if (!p.mask.empty() && (p.mask.depth() != CV_8U || p.mask.channels() != 1))
    throw Error("the mask must be one 8-bit channel");
}

}  // namespace

ImageToImageParams ImageToImageParams::from_request(const api::GenerationRequest& request) {
  ImageToImageParams p;
  static_cast<SamplingParams&>(p) = SamplingParams::from_request(request);
  p.strength = request.init.strength;
  return p;
}

std::string image_mode_name(ImageMode mode) {
  switch (mode) {
    case ImageMode::inpaint_blend: return "inpaint (blend)";
    case ImageMode::inpaint_model: return "inpaint (inpainting model)";
    default: return "image to image";
  }
}

int denoising_steps(int steps, double strength) {
  check_strength(strength);
  return std::min(static_cast<int>(steps * strength), steps);
}

int strength_begin_call(const schedulers::Scheduler& scheduler, int steps, double strength) {
  const int t_start = std::max(steps - denoising_steps(steps, strength), 0);
  return std::min(t_start * scheduler.order(), scheduler.num_calls());
}

ImageToImageOutput image_to_image(ModelBundle& model, const ImageToImageParams& p,
                                  const StepObserver& observer, const std::atomic<bool>* cancel) {
  torch::InferenceMode inference_mode;
  const CancelScope cancel_inside_steps(cancel);
  validate_params(model, p);
  check_strength(p.strength);
  check_images(p);
  const int64_t in_channels = model.unet->config.in_channels;
  const int64_t latent_channels = model.vae->config().latent_channels;
  if (in_channels != latent_channels && in_channels != 2 * latent_channels + 1)
    throw Error("the UNet takes " + std::to_string(in_channels) + " input channels: expected " +
                std::to_string(latent_channels) + " (ordinary) or " + std::to_string(2 * latent_channels + 1) +
                " (inpainting)");
  const bool inpainting_unet = in_channels != latent_channels;
  const int64_t factor = latent_factor(model);
  if (p.width % factor != 0 || p.height % factor != 0)
    throw Error("width and height must be multiples of " + std::to_string(factor));

  ImageToImageOutput out;
  out.mode = inpainting_unet ? ImageMode::inpaint_model
             : p.mask.empty() ? ImageMode::image_to_image
                              : ImageMode::inpaint_blend;
  const bool inpaint = out.mode != ImageMode::image_to_image;

  auto scheduler = make_params_scheduler(model, p);
  out.begin_index = strength_begin_call(*scheduler, p.steps, p.strength);
  scheduler->set_begin_index(out.begin_index);
  const bool runs = out.begin_index < scheduler->num_calls();
  // Only the inpainting pipeline starts from pure noise at full strength (an exact compare,
  // as diffusers makes it); image to image always adds the picture's latents.
  const bool strength_is_max = inpaint && p.strength == 1.0;

  DenoiseSpec spec;
  spec.begin = out.begin_index;
  set_text_conditioning(spec, encode_text_schedule(model, p, {scheduler->num_calls(), out.begin_index},
                                                   TimeIdsLayout::image_to_image));
  spec.predict = step_cached_predictor(model, p.step_cache, scheduler->num_calls() - out.begin_index);
  if (p.control.any()) {
    // The keep window counts the steps left after strength, as diffusers' does.
    check_control(p.control, p.width, p.height);
    spec.predict = controlled_predictor(spec.predict, p.control, spec.conditioning.guided(),
                                        p.batch(), scheduler->num_calls() - out.begin_index);
  }
  out.prompt_embeds = spec.conditioning.batched().context;
  throw_if_cancelled(cancel);

  const int64_t batch = p.batch();
  const int64_t h = p.height / factor;
  const int64_t w = p.width / factor;
  auto generator = at::detail::createCPUGenerator(p.seed);
  out.init_image = image_tensor(p.init_image, p.width, p.height);

  // Generator draws, in diffusers' order: the picture's latent sample (skipped by an
  // inpainting UNet at full strength), the noise, then the masked picture's sample.
  if (!(inpainting_unet && strength_is_max)) out.image_latents = encode_image_latents(model, out.init_image, generator);
  throw_if_cancelled(cancel);
  out.noise = at::randn({batch, latent_channels, h, w}, generator);  // float32, CPU
  const auto noise = out.noise.to(model.device);
  const auto image_latents =
      out.image_latents.defined() ? out.image_latents.repeat({batch, 1, 1, 1}) : torch::Tensor();
  if (strength_is_max)
    out.latents_init = noise * scheduler->init_noise_sigma();
  else if (runs)
    out.latents_init = scheduler->add_noise(image_latents, noise, out.begin_index);
  else
    out.latents_init = image_latents;  // strength 0: nothing to denoise

  torch::Tensor mask_latent;
  if (inpaint) {
    const cv::Mat mask = p.mask.empty() ? cv::Mat(p.init_image.size(), CV_8UC1, cv::Scalar(255)) : p.mask;
    out.mask = mask_tensor(mask, p.width, p.height);
    out.masked_image = out.init_image * (out.mask < 0.5);
    out.masked_image_latents = encode_image_latents(model, out.masked_image, generator);
    // F.interpolate(mode="nearest") to the latent size picks each cell's top-left pixel.
    out.mask_latent = out.mask.slice(2, 0, p.height, factor).slice(3, 0, p.width, factor).contiguous();
    mask_latent = out.mask_latent.to(model.device).repeat({batch, 1, 1, 1});  // [B,1,h,w]
  }
  throw_if_cancelled(cancel);

  if (inpainting_unet) {
    // The mask and the masked picture's latents as extra input channels, for both halves.
    const auto extra =
        torch::cat({mask_latent, out.masked_image_latents.to(model.device).repeat({batch, 1, 1, 1})}, 1);
    spec.conditioning = spec.conditioning.with_concat(extra);  // [B,5,h,w]
    spec.schedule = spec.schedule.with_concat(extra);
  } else if (inpaint) {
    const int last = scheduler->num_calls() - 1;
    auto& sched = *scheduler;
    spec.after_step = [&, last](int call, const torch::Tensor& latents) {
      // The known region, noised to the next call's level (clean after the last call).
      const auto proper = call < last ? sched.add_noise(image_latents, noise, call + 1) : image_latents;
      return (1 - mask_latent) * proper + mask_latent * latents;
    };
  }
  if (inpaint && image_latents.defined())
    spec.preview = [&](const torch::Tensor& denoised) {
      return (1 - mask_latent) * image_latents + mask_latent * denoised;
    };

  auto latents = out.latents_init.to(model.device);
  if (runs)
    latents = denoise(model, *scheduler, latents, spec, generator, observer, cancel, &out.timesteps);
  out.latents = latents.to(torch::kFloat32);
  out.images = decode_latents(model, out.latents);
  return out;
}

double vae_encode_memory_estimate_bytes(const ModelBundle& model, int width, int height) {
  // What vae_encode holds: the whole encode's activations, or band by band above the budget.
  const auto& config = model.vae->config();
  const auto dtype = model.vae_dtype();
  const int64_t whole = estimate_vae_encode_bytes(config, 1, height, width, dtype);
  if (whole <= kDefaultVaeDecodeBudgetBytes) return static_cast<double>(whole);
  return static_cast<double>(estimate_vae_banded_encode_bytes(config, 1, height, width, dtype));
}

}  // namespace latent::pipeline
