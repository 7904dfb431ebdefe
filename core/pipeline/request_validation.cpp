#include "core/pipeline/request_validation.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "core/pipeline/hires_fix.h"
#include "core/pipeline/control_request.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

void check_side(const char* name, int value) {
  if (value < 8 || value > kMaxSide || value % 8 != 0)
    throw Error(std::string(name) + " " + std::to_string(value) +
                " is not possible: it must be a multiple of 8 between 8 and " +
                std::to_string(kMaxSide) + " (the VAE works on 8x8-pixel cells)");
}

// "0.75", "1.5", "nan": the value as the user wrote it, not std::to_string's six decimals.
std::string number_text(double strength) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", strength);
  return buffer;
}

// A W,H pair of SDXL's size conditioning: 0 (the picture's own size) up to kMaxSide.
void check_conditioning_size(const char* name, int width, int height) {
  for (const int value : {width, height})
    if (value < 0 || value > kMaxSide)
      throw Error(std::string(name) + " " + std::to_string(width) + "," + std::to_string(height) +
                  " is out of range: each side must be 0 (the picture's own size) to " +
                  std::to_string(kMaxSide));
}

void check_sdxl(const api::SdxlConditioning& sdxl) {
  check_conditioning_size("original size", sdxl.original_width, sdxl.original_height);
  check_conditioning_size("target size", sdxl.target_width, sdxl.target_height);
  if (sdxl.crop_left < 0 || sdxl.crop_top < 0 || sdxl.crop_left > kMaxSide || sdxl.crop_top > kMaxSide)
    throw Error("crop top left " + std::to_string(sdxl.crop_left) + "," + std::to_string(sdxl.crop_top) +
                " is out of range: pixels cropped from the left and from the top, each 0 to " +
                std::to_string(kMaxSide));
  if (!std::isfinite(sdxl.aesthetic_score))
    throw Error("aesthetic score " + number_text(sdxl.aesthetic_score) + " is not a finite number");
  if (!std::isfinite(sdxl.negative_aesthetic_score))
    throw Error("negative aesthetic score " + number_text(sdxl.negative_aesthetic_score) +
                " is not a finite number");
}

// The hires fix's settings, named as the command line's --hires-* options.
void check_second_pass(const api::GenerationRequest& r) {
  const api::SecondPass& pass = r.second_pass;
  const bool sized = pass.width != 0 || pass.height != 0;
  if (pass.width < 0 || pass.height < 0 || pass.width > kMaxSide || pass.height > kMaxSide)
    throw Error("hires size " + std::to_string(pass.width) + "x" + std::to_string(pass.height) +
                " is out of range: each side 0 (keep the aspect) to " + std::to_string(kMaxSide));
  if (!sized && !(pass.scale > 0.0 && pass.scale <= 8.0))
    throw Error("hires scale " + number_text(pass.scale) + " is out of range: use above 0 to 8");
  if (pass.steps < 0 || pass.steps > kMaxSteps)
    throw Error("hires steps " + std::to_string(pass.steps) + " is out of range: use 0 (as many as the first pass) to " +
                std::to_string(kMaxSteps));
  if (!(pass.denoising_strength >= 0.0 && pass.denoising_strength <= 1.0))
    throw Error("hires strength " + number_text(pass.denoising_strength) + " is out of range: use 0 to 1");
  if (pass.upscaler.empty()) throw Error("the hires upscaler is empty: name one or give an upscaler file");
  const HiresTarget target = hires_target(r.size.width, r.size.height, pass, 8);
  if (target.second_width < 8 || target.second_height < 8 || target.width > kMaxSide || target.height > kMaxSide)
    throw Error("the hires fix's second pass would be " + std::to_string(target.second_width) + "x" +
                std::to_string(target.second_height) + ": each side must be 8 to " + std::to_string(kMaxSide));
}

}  // namespace

void check_strength(double strength) {
  // Written so that NaN fails too: every comparison with NaN is false.
  if (!(strength >= 0.0 && strength <= 1.0))
    throw Error("strength " + number_text(strength) + " is out of range: use 0 to 1");
}

void validate_request(const api::GenerationRequest& r) {
  const api::SamplingSettings& sampling = r.sampling;
  if (sampling.steps < 1 || sampling.steps > kMaxSteps)
    throw Error("steps " + std::to_string(sampling.steps) + " is out of range: use 1 to " +
                std::to_string(kMaxSteps));
  check_side("width", r.size.width);
  check_side("height", r.size.height);
  if (!std::isfinite(sampling.guidance_scale) || sampling.guidance_scale < 0 || sampling.guidance_scale > 100)
    throw Error("guidance scale " + std::to_string(sampling.guidance_scale) +
                " is out of range: use 0 to 100 (1 or less turns guidance off)");
  if (r.size.batch_size < 1 || r.size.batch_size > kMaxBatch)
    throw Error("batch size " + std::to_string(r.size.batch_size) + " is out of range: use 1 to " +
                std::to_string(kMaxBatch));
  if (sampling.clip_skip < 1)
    throw Error("clip skip " + std::to_string(sampling.clip_skip) +
                " is not valid: it counts as the web UI does, 1 = the text encoder's last layer, "
                "2 = the one before it, ...");
  if (!std::isfinite(sampling.eta) || sampling.eta < 0 || sampling.eta > 1)
    throw Error("eta " + std::to_string(sampling.eta) + " is out of range: use 0 to 1");
  if (!(sampling.guidance_rescale >= 0.0 && sampling.guidance_rescale <= 1.0))
    throw Error("guidance rescale " + number_text(sampling.guidance_rescale) +
                " is out of range: use 0 (off) to 1");
  const std::string& spacing = sampling.timestep_spacing;
  if (!spacing.empty() && spacing != "leading" && spacing != "linspace" && spacing != "trailing")
    throw Error("timestep spacing \"" + spacing +
                "\" is not one of leading, linspace, trailing (or empty for the model's own)");
  if (sampling.lcm_original_steps < 0 || sampling.lcm_original_steps > 1000)
    throw Error("LCM original steps " + std::to_string(sampling.lcm_original_steps) +
                " is out of range: use 1 to 1000 (0 = the model's scheduler config)");
  if (!(sampling.tcd_gamma >= 0.0 && sampling.tcd_gamma <= 1.0))
    throw Error("TCD gamma " + number_text(sampling.tcd_gamma) + " is out of range: use 0 to 1");
  if (sampling.step_cache < 1 || sampling.step_cache > kMaxSteps)
    throw Error("step cache " + std::to_string(sampling.step_cache) + " is out of range: use 1 (off) to " +
                std::to_string(kMaxSteps) + " (every Nth step runs the whole UNet)");
  check_sdxl(r.sdxl);
  if (!(r.refiner.switch_at > 0.0 && r.refiner.switch_at < 1.0))
    throw Error("refiner switch " + number_text(r.refiner.switch_at) +
                " is out of range: the fraction of the steps the base model takes, above 0 and "
                "below 1");
  if (r.preview.vae_every < -1)
    throw Error("VAE preview cadence " + std::to_string(r.preview.vae_every) +
                " is not valid: use -1 (automatic), 0 (off) or a step count");
  validate_control_units(r);
  if (r.second_pass.enabled) check_second_pass(r);
}

}  // namespace latent::pipeline
