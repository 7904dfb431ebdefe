#include "core/pipeline/latent_upscale.h"

#include "core/util/error.h"

namespace latent::pipeline {

torch::Tensor upscale_latents(const torch::Tensor& latents, const api::BuiltInUpscaler& upscaler,
                              int64_t height, int64_t width) {
  namespace F = torch::nn::functional;
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width});
  const std::string& mode = upscaler.latent_mode;
  // align_corners is left unset, as the web UI calls F.interpolate: False for the linear
  // modes, and the nearest modes refuse any value.
  if (mode == "bilinear")
    options.mode(torch::kBilinear).align_corners(false).antialias(upscaler.antialias);
  else if (mode == "bicubic")
    options.mode(torch::kBicubic).align_corners(false).antialias(upscaler.antialias);
  else if (mode == "nearest")
    options.mode(torch::kNearest);
  else if (mode == "nearest-exact")
    // Directly: LibTorch 1.13's interpolate warns about align_corners for this mode although
    // the mode has none.
    return at::_upsample_nearest_exact2d(latents.to(torch::kFloat32), {height, width});
  else
    throw Error("'" + upscaler.name + "' is not a latent upscaler: use one of " + api::built_in_upscaler_list());
  return F::interpolate(latents.to(torch::kFloat32), options);
}

}  // namespace latent::pipeline
