// Hires fix as the golden data composes it from diffusers' StableDiffusionPipeline
// (output_type="latent") and StableDiffusionImg2ImgPipeline; the sizes and the crop as the
// web UI's modules/processing.py computes them.
#include "core/pipeline/hires_fix.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/api/upscaler_names.h"
#include "core/image/image_prep.h"
#include "core/pipeline/decode.h"
#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/image_to_image.h"
#include "core/pipeline/latent_upscale.h"
#include "core/pipeline/latents.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/request_validation.h"
#include "core/pipeline/step_cache.h"
#include "core/pipeline/text_schedule.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

// The web UI's truncation of an upscale that covers a size of another aspect:
// samples[:, :, ch//2 : h-(ch+1)//2, cw//2 : w-(cw+1)//2].
torch::Tensor crop_latents(const torch::Tensor& latents, const HiresTarget& target) {
  if (target.crop_width == 0 && target.crop_height == 0) return latents;
  const int64_t h = latents.size(2);
  const int64_t w = latents.size(3);
  return latents.slice(2, target.crop_height / 2, h - (target.crop_height + 1) / 2)
      .slice(3, target.crop_width / 2, w - (target.crop_width + 1) / 2)
      .contiguous();
}

cv::Mat picture_of(const torch::Tensor& hwc_uint8) {
  const auto c = hwc_uint8.contiguous();
  return cv::Mat(static_cast<int>(c.size(0)), static_cast<int>(c.size(1)), CV_8UC3, c.data_ptr()).clone();
}

torch::Tensor tensor_of(const cv::Mat& rgb) {
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
}

// [B,H,W,3] uint8 → the second pass's starting latents, as StableDiffusionImg2ImgPipeline
// takes PIL pictures: each fitted to whole latent cells (Lanczos, when it is not already),
// x/255·2−1, then one VAE encode of the batch whose sample is the generator's first draw.
torch::Tensor encode_pictures(ModelBundle& model, const torch::Tensor& pictures, int width, int height,
                              at::Generator& generator) {
  std::vector<torch::Tensor> fitted;
  for (int64_t i = 0; i < pictures.size(0); ++i) {
    if (pictures.size(1) == height && pictures.size(2) == width)
      fitted.push_back(pictures[i]);
    else
      fitted.push_back(tensor_of(image::resize_lanczos(picture_of(pictures[i]), width, height)));
  }
  const auto unit = torch::stack(fitted).permute({0, 3, 1, 2}).to(torch::kFloat32).div(255.0);
  return encode_image_latents(model, (unit * 2.0 - 1.0).contiguous(), generator);
}

struct SecondPassRun {
  SamplingParams params;
  std::unique_ptr<schedulers::Scheduler> scheduler;
  int begin = 0;
};

SecondPassRun prepare_second_pass(ModelBundle& model, const HiresParams& p, const HiresTarget& target) {
  SecondPassRun run;
  run.params = p.second_pass(target);
  validate_params(model, run.params);
  run.scheduler = make_params_scheduler(model, run.params);
  run.begin = strength_begin_call(*run.scheduler, run.params.steps, p.pass.denoising_strength);
  run.scheduler->set_begin_index(run.begin);
  return run;
}

// Image to image from 4-channel latents (out.image_latents): the noise is the generator's
// next draw, added at the first call run (nothing added and nothing run at strength 0).
// `first_pass_calls` counts the steps of the prompts' schedules as the web UI does for a
// second pass (text::ScheduleSteps).
void run_second_pass(ModelBundle& model, SecondPassRun& run, HiresOutput& out, at::Generator& generator,
                     int first_pass_calls, const StepObserver& observer, const std::atomic<bool>* cancel) {
  DenoiseSpec spec;
  spec.begin = run.begin;
  spec.predict = step_cached_predictor(model, run.params.step_cache, run.scheduler->num_calls() - run.begin);
  set_text_conditioning(spec, encode_text_schedule(model, run.params,
                                                   {run.scheduler->num_calls(), run.begin, first_pass_calls},
                                                   TimeIdsLayout::image_to_image));
  throw_if_cancelled(cancel);
  auto& scheduler = *run.scheduler;
  out.begin_index = run.begin;
  out.noise = at::randn(out.image_latents.sizes(), generator);  // float32, CPU
  const auto image_latents = out.image_latents.to(model.device);
  const bool runs = run.begin < scheduler.num_calls();
  out.latents_init = runs ? scheduler.add_noise(image_latents, out.noise.to(model.device), run.begin) : image_latents;
  auto latents = out.latents_init;
  if (runs) latents = denoise(model, scheduler, latents, spec, generator, observer, cancel, &out.second_timesteps);
  out.latents = latents.to(torch::kFloat32);
  out.images = decode_latents(model, out.latents);
}

const api::BuiltInUpscaler* checked_upscaler(const HiresParams& p) {
  const auto* built_in = api::find_built_in_upscaler(p.pass.upscaler);
  if (!built_in && !p.resize_image)
    throw Error("upscaler '" + p.pass.upscaler + "' is not one of " + api::built_in_upscaler_list() +
                " and no upscaler network was loaded for it");
  return p.resize_image ? nullptr : built_in;
}

}  // namespace

HiresTarget hires_target(int width, int height, const api::SecondPass& pass, int f) {
  HiresTarget t;
  if (pass.width <= 0 && pass.height <= 0) {
    if (!(pass.scale > 0)) throw Error("hires scale " + std::to_string(pass.scale) + " is not above 0");
    t.width = static_cast<int>(width * pass.scale);  // int() truncates, as Python's
    t.height = static_cast<int>(height * pass.scale);
  } else if (pass.height <= 0) {
    t.width = pass.width;
    t.height = pass.width * height / width;
  } else if (pass.width <= 0) {
    t.width = pass.height * width / height;
    t.height = pass.height;
  } else {
    // Cover the size, keeping the aspect, then crop the latents to it.
    if (static_cast<double>(width) / height < static_cast<double>(pass.width) / pass.height) {
      t.width = pass.width;
      t.height = pass.width * height / width;
    } else {
      t.width = pass.height * width / height;
      t.height = pass.height;
    }
    t.crop_width = (t.width - pass.width) / f;
    t.crop_height = (t.height - pass.height) / f;
  }
  t.second_width = (t.width / f - t.crop_width) * f;
  t.second_height = (t.height / f - t.crop_height) * f;
  return t;
}

HiresParams HiresParams::from_request(const api::GenerationRequest& request) {
  HiresParams p;
  static_cast<SamplingParams&>(p) = SamplingParams::from_request(request);
  p.pass = request.second_pass;
  return p;
}

SamplingParams HiresParams::second_pass(const HiresTarget& target) const {
  SamplingParams s = *this;
  s.width = target.second_width;
  s.height = target.second_height;
  if (pass.steps > 0) s.steps = pass.steps;
  if (!pass.sampler.empty()) s.sampler = pass.sampler;
  // The web UI's hires prompts stand in for the first pass's when given (for every prompt
  // of the batch); SDXL's second encoder then reads them too.
  if (!pass.prompt.empty()) {
    s.prompts.assign(prompts.size(), pass.prompt);
    s.prompts_2.clear();
  }
  if (!pass.negative_prompt.empty()) {
    s.negative_prompts.assign(prompts.size(), pass.negative_prompt);
    s.negative_prompts_2.clear();
  }
  return s;
}

HiresOutput hires_fix(ModelBundle& model, const HiresParams& p, const StepObserver& observer,
                      const std::atomic<bool>* cancel) {
  torch::InferenceMode inference_mode;
  const CancelScope cancel_inside_steps(cancel);
  validate_params(model, p);
  check_strength(p.pass.denoising_strength);
  const auto* latent_upscaler = checked_upscaler(p);
  const int f = static_cast<int>(latent_factor(model));
  const HiresTarget target = hires_target(p.width, p.height, p.pass, f);
  auto second = prepare_second_pass(model, p, target);

  auto first_scheduler = make_params_scheduler(model, p);
  const int first_calls = first_scheduler->num_calls();
  const int total = first_calls + second.scheduler->num_calls() - second.begin;

  // Pass 1: StableDiffusionPipeline(..., output_type="latent").
  HiresOutput out;
  DenoiseSpec first_spec;
  first_spec.predict = step_cached_predictor(model, p.step_cache, first_calls);
  set_text_conditioning(first_spec, encode_text_schedule(model, p, {first_calls}));
  throw_if_cancelled(cancel);
  auto first_generator = at::detail::createCPUGenerator(p.seed);
  const auto start = noise_latents(model, p, *first_scheduler, first_generator);
  out.first_noise = start.noise;
  out.first_latents = denoise(model, *first_scheduler, start.latents, first_spec, first_generator,
                              pass_observer(observer, 0, total), cancel, &out.first_timesteps)
                          .to(torch::kFloat32);
  first_scheduler.reset();
  throw_if_cancelled(cancel);

  // The upscale, and pass 2 with a new generator seeded as the first.
  auto generator = at::detail::createCPUGenerator(p.seed);
  if (latent_upscaler && latent_upscaler->is_latent()) {
    out.image_latents = crop_latents(
        upscale_latents(out.first_latents, *latent_upscaler, target.height / f, target.width / f), target);
  } else {
    out.first_images = decode_latents(model, out.first_latents).to(torch::kCPU);  // resized on the CPU
    std::vector<torch::Tensor> upscaled;
    for (int64_t i = 0; i < out.first_images.size(0); ++i) {
      throw_if_cancelled(cancel);
      const cv::Mat picture = picture_of(out.first_images[i]);
      upscaled.push_back(tensor_of(p.resize_image ? p.resize_image(picture, target.width, target.height)
                                                  : image::resize_lanczos(picture, target.width, target.height)));
    }
    out.upscaled_images = torch::stack(upscaled);
    const auto encoded = encode_pictures(model, out.upscaled_images, target.width / f * f,
                                         target.height / f * f, generator);
    out.image_latents = crop_latents(encoded.to(torch::kFloat32), target);
  }
  run_second_pass(model, second, out, generator, first_calls, pass_observer(observer, first_calls, total), cancel);
  return out;
}

HiresOutput hires_second_pass_from_picture(ModelBundle& model, const HiresParams& p, const cv::Mat& upscaled,
                                           const StepObserver& observer, const std::atomic<bool>* cancel) {
  torch::InferenceMode inference_mode;
  const CancelScope cancel_inside_steps(cancel);
  check_strength(p.pass.denoising_strength);
  if (upscaled.empty() || upscaled.type() != CV_8UC3) throw Error("the upscaled picture must be 8-bit RGB");
  const int f = static_cast<int>(latent_factor(model));
  const HiresTarget target = hires_target(p.width, p.height, p.pass, f);
  auto second = prepare_second_pass(model, p, target);
  HiresOutput out;
  auto generator = at::detail::createCPUGenerator(p.seed);
  out.upscaled_images = tensor_of(upscaled).unsqueeze(0);
  out.image_latents = crop_latents(
      encode_pictures(model, out.upscaled_images, upscaled.cols / f * f, upscaled.rows / f * f, generator), target);
  // The first pass did not run here; its schedule's length still counts the prompts' steps.
  const int first_pass_calls = make_params_scheduler(model, p)->num_calls();
  run_second_pass(model, second, out, generator, first_pass_calls, observer, cancel);
  return out;
}

}  // namespace latent::pipeline
