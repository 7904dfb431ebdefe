#pragma once

// ControlNet guidance at run time, as diffusers' StableDiffusionControlNet*Pipeline: each
// unit's net computes residuals from the same latents, timestep and text as the UNet,
// scaled by its weight inside its start/end window of the steps; the units' residuals are
// summed and the UNet adds them to its skips (Conditioning::down_residuals, mid_residual).
// In guess mode with guidance the nets see the conditional half only and the
// unconditional half gets no control.

#include <torch/torch.h>

#include <vector>

#include "core/models/controlnet_model.h"
#include "core/pipeline/noise_predictor.h"

namespace latent::pipeline {

struct ControlNetUnit {
  models::ControlNetModel net{nullptr};
  torch::Tensor image;  // [1, C, H, W] float32, prepared (control_image.h) at the run's size
  double scale = 1.0;   // diffusers' controlnet_conditioning_scale
  double start = 0.0;   // control_guidance_start, a fraction of the steps run
  double end = 1.0;     // control_guidance_end
};

struct ControlParams {
  std::vector<ControlNetUnit> units;
  bool guess_mode = false;

  bool any() const { return !units.empty(); }
};

// diffusers' controlnet_keep for `calls` model calls: 1 where call i lies inside
// [start, end] (i/N ≥ start and (i+1)/N ≤ end, compared in double precision), else 0.
std::vector<double> control_keep(int calls, double start, double end);
// The same for one call.
double control_keep_at(int call, int calls, double start, double end);

// The residuals every unit adds at call `call` of `calls`, summed in unit order; empty
// (no down residuals, no mid) when no unit acts at this call. `latents` and `context` are
// what the UNet receives (the guided batch [uncond; cond] when `guided`), `batch` the
// images drawn. Units outside their window are not run: their residuals would be zeros.
models::UNetResiduals control_residuals(const ControlParams& control, const torch::Tensor& latents,
                                        const torch::Tensor& timestep, const torch::Tensor& context,
                                        int call, int calls, bool guided, int64_t batch);

// `predict` (the UNet's hook) with every call's control residuals added to its
// conditioning. Calls are counted from the first the loop makes; `calls` is how many the
// run makes (image to image: the steps left after strength).
NoisePredictor controlled_predictor(NoisePredictor predict, const ControlParams& control,
                                    bool guided, int64_t batch, int calls);

// Refuses a run whose units cannot run: images of another size than width×height, start
// or end outside [0, 1], start not below end. Throws latent::Error naming the unit.
void check_control(const ControlParams& control, int width, int height);

}  // namespace latent::pipeline
