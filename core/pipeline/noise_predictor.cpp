#include "core/pipeline/noise_predictor.h"

#include "core/pipeline/model_bundle.h"

namespace latent::pipeline {

NoisePredictor unet_noise_predictor(ModelBundle& model) {
  return [&model](const torch::Tensor& latents, const torch::Tensor& timestep, const Conditioning& c) {
    auto input = latents.to(model.dtype);
    if (c.concat.defined()) input = torch::cat({input, c.concat}, 1);  // [N, 4+C, h, w]
    const models::UNetResiduals residuals{c.down_residuals, c.mid_residual};
    const bool has_residuals = !residuals.down.empty() || residuals.mid.defined();
    const models::UNetAddedConditions added{c.pooled, c.time_ids};
    const bool has_added = added.text_embeds.defined() || added.time_ids.defined();
    return model.unet
        ->forward(input, timestep.to(model.device), c.context, has_residuals ? &residuals : nullptr,
                  has_added ? &added : nullptr, c.timestep_cond)
        .to(torch::kFloat32);
  };
}

torch::Tensor guided_prediction(const NoisePredictor& predict, const torch::Tensor& latents,
                                const torch::Tensor& timestep, const Conditioning& batched,
                                const Guidance& guidance, bool guided) {
  if (!guided) return predict(latents, timestep, batched);
  const auto both = predict(torch::cat({latents, latents}), timestep, batched);
  const auto halves = both.chunk(2);
  const auto& uncond = halves[0];
  const auto& cond = halves[1];
  auto guided_pred = uncond + guidance.scale * (cond - uncond);
  if (guidance.rescale > 0.0) {
    // Per sample, over channels and pixels, with torch's unbiased std as diffusers uses.
    const std::vector<int64_t> per_sample{1, 2, 3};
    const auto std_cond = cond.std(per_sample, /*unbiased=*/true, /*keepdim=*/true);
    const auto std_guided = guided_pred.std(per_sample, /*unbiased=*/true, /*keepdim=*/true);
    const auto rescaled = guided_pred * (std_cond / std_guided);
    guided_pred = guidance.rescale * rescaled + (1.0 - guidance.rescale) * guided_pred;
  }
  return guided_pred;
}

}  // namespace latent::pipeline
