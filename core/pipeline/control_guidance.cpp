// After diffusers pipelines/controlnet/pipeline_controlnet.py (__call__'s denoising loop)
// and models/controlnets/multicontrolnet.py.
#include "core/pipeline/control_guidance.h"

#include <cmath>
#include <memory>

#include "core/util/error.h"

namespace latent::pipeline {
namespace {

// The unit's picture for a call: one per row of the latents the net sees (the images drawn,
// doubled for the guided batch, or more with AND composition; every row shows the same
// picture).
torch::Tensor batched_image(const torch::Tensor& image, int64_t rows) {
  return image.repeat_interleave(rows, 0);
}

}  // namespace

double control_keep_at(int call, int calls, double start, double end) {
  const double n = static_cast<double>(calls);  // python's float division, in double
  return 1.0 - static_cast<double>(call / n < start || (call + 1) / n > end);
}

std::vector<double> control_keep(int calls, double start, double end) {
  std::vector<double> keep;
  for (int i = 0; i < calls; ++i) keep.push_back(control_keep_at(i, calls, start, end));
  return keep;
}

models::UNetResiduals control_residuals(const ControlParams& control, const torch::Tensor& latents,
                                        const torch::Tensor& timestep, const torch::Tensor& context,
                                        int call, int calls, bool guided, int64_t batch) {
  const bool cond_only = control.guess_mode && guided;
  // Guess mode: the conditional part of the guided batch alone (the rows after the `batch`
  // unconditional ones: half of it, or more with AND composition).
  const int64_t cond_rows = latents.size(0) - batch;
  const torch::Tensor x = cond_only ? latents.narrow(0, batch, cond_rows) : latents;
  const torch::Tensor text = cond_only ? context.narrow(0, batch, cond_rows) : context;
  models::UNetResiduals sum;
  for (const auto& unit : control.units) {
    const double keep = control_keep_at(call, calls, unit.start, unit.end);
    if (keep == 0.0) continue;  // scaled by 0 the residuals would add exact zeros
    const auto image = batched_image(unit.image, x.size(0));
    models::ControlNetModel net = unit.net;  // a holder: shares the module, not a copy
    auto r = net->forward(x, timestep, text, image, unit.scale * keep, control.guess_mode);
    if (cond_only) {
      const auto unconditional_zeros = [batch](const torch::Tensor& t) {
        auto sizes = t.sizes().vec();
        sizes[0] = batch;
        return torch::cat({torch::zeros(sizes, t.options()), t});
      };
      for (auto& d : r.down) d = unconditional_zeros(d);
      r.mid = unconditional_zeros(r.mid);
    }
    if (sum.down.empty()) {
      sum = std::move(r);
      continue;
    }
    for (size_t k = 0; k < sum.down.size(); ++k) sum.down[k] = sum.down[k] + r.down[k];
    sum.mid = sum.mid + r.mid;
  }
  return sum;
}

NoisePredictor controlled_predictor(NoisePredictor predict, const ControlParams& control,
                                    bool guided, int64_t batch, int calls) {
  auto next_call = std::make_shared<int>(0);
  return [predict = std::move(predict), control, guided, batch, calls, next_call](
             const torch::Tensor& latents, const torch::Tensor& timestep, const Conditioning& c) {
    const int call = (*next_call)++;
    if (call >= calls)
      throw Error("ControlNet: more model calls than the run's " + std::to_string(calls));
    auto residuals =
        control_residuals(control, latents, timestep, c.context, call, calls, guided, batch);
    if (residuals.down.empty()) return predict(latents, timestep, c);
    Conditioning with = c;
    with.down_residuals = std::move(residuals.down);
    with.mid_residual = residuals.mid;
    return predict(latents, timestep, with);
  };
}

void check_control(const ControlParams& control, int width, int height) {
  for (size_t i = 0; i < control.units.size(); ++i) {
    const auto& unit = control.units[i];
    const std::string name = "ControlNet unit " + std::to_string(i + 1);
    if (!unit.net) throw Error(name + " has no model");
    if (!unit.image.defined() || unit.image.dim() != 4 || unit.image.size(0) != 1)
      throw Error(name + " has no control image");
    if (unit.image.size(2) != height || unit.image.size(3) != width)
      throw Error(name + ": the control image is " + std::to_string(unit.image.size(3)) + "x" +
                  std::to_string(unit.image.size(2)) + ", the picture " + std::to_string(width) +
                  "x" + std::to_string(height));
    if (!(unit.start >= 0.0 && unit.start < unit.end && unit.end <= 1.0))
      throw Error(name + ": start " + std::to_string(unit.start) + " and end " +
                  std::to_string(unit.end) + " must satisfy 0 <= start < end <= 1");
    if (!std::isfinite(unit.scale)) throw Error(name + ": the weight is not a finite number");
  }
}

}  // namespace latent::pipeline
