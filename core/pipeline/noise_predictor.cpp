#include "core/pipeline/noise_predictor.h"

#include "core/pipeline/model_bundle.h"
#include "core/util/error.h"

namespace latent::pipeline {

NoisePredictor unet_noise_predictor(ModelBundle& model) {
  return [&model](const torch::Tensor& latents, const torch::Tensor& timestep, const Conditioning& c) {
    return run_unet(model, latents, timestep, c);
  };
}

torch::Tensor run_unet(ModelBundle& model, const torch::Tensor& latents, const torch::Tensor& timestep,
                       const Conditioning& c, UNetPass pass, torch::Tensor* deep) {
  auto input = latents.to(model.dtype);
  if (c.concat.defined()) input = torch::cat({input, c.concat}, 1);  // [N, 4+C, h, w]
  const models::UNetResiduals residuals{c.down_residuals, c.mid_residual};
  const bool has_residuals = !residuals.down.empty() || residuals.mid.defined();
  const models::UNetAddedConditions added{c.pooled, c.time_ids};
  const bool has_added = added.text_embeds.defined() || added.time_ids.defined();
  const auto* r = has_residuals ? &residuals : nullptr;
  const auto* a = has_added ? &added : nullptr;
  const auto t = timestep.to(model.device);
  auto& unet = *model.unet;
  if (pass != UNetPass::full && !deep) throw Error("run_unet: a cached pass needs its deep features");
  const auto out = pass == UNetPass::full ? unet.forward(input, t, c.context, r, a, c.timestep_cond)
                   : pass == UNetPass::full_keeping_deep
                       ? unet.forward_keeping_deep(input, t, c.context, *deep, r, a, c.timestep_cond)
                       : unet.forward_shallow(input, t, c.context, *deep, r, a, c.timestep_cond);
  return out.to(torch::kFloat32);
}

namespace {

// diffusers' rescale_noise_cfg: per sample, over channels and pixels, with torch's unbiased
// std as diffusers uses.
torch::Tensor rescaled(const torch::Tensor& guided_pred, const torch::Tensor& cond, double rescale) {
  const std::vector<int64_t> per_sample{1, 2, 3};
  const auto std_cond = cond.std(per_sample, /*unbiased=*/true, /*keepdim=*/true);
  const auto std_guided = guided_pred.std(per_sample, /*unbiased=*/true, /*keepdim=*/true);
  const auto rescaled_pred = guided_pred * (std_cond / std_guided);
  return rescale * rescaled_pred + (1.0 - rescale) * guided_pred;
}

// The AND-composed prediction (see the header): one call over the images' latents (with
// guidance) and each term's image's latents, combined image by image in term order.
torch::Tensor composed_prediction(const NoisePredictor& predict, const torch::Tensor& latents,
                                  const torch::Tensor& timestep, const Conditioning& batched,
                                  const Guidance& guidance, bool guided, const Composition& composition) {
  const int64_t images = latents.size(0);
  if (static_cast<int64_t>(composition.size()) != images)
    throw Error("AND composition: " + std::to_string(composition.size()) + " images composed, " +
                std::to_string(images) + " drawn");
  std::vector<int64_t> term_images;
  for (std::size_t image = 0; image < composition.size(); ++image)
    for (std::size_t k = 0; k < composition[image].size(); ++k) term_images.push_back(static_cast<int64_t>(image));
  const auto index = torch::tensor(term_images, torch::kInt64).to(latents.device());
  const auto per_term = latents.index_select(0, index);  // [S, C, h, w]
  const auto all = predict(guided ? torch::cat({latents, per_term}) : per_term, timestep, batched);
  const int64_t offset = guided ? images : 0;
  std::vector<torch::Tensor> out;
  std::vector<torch::Tensor> conditional;
  for (int64_t b = 0; b < images; ++b) {
    const auto& terms = composition[static_cast<std::size_t>(b)];
    if (terms.empty()) throw Error("AND composition: image " + std::to_string(b) + " has no prompt");
    const auto base = guided ? all[b] : all[offset + terms.front().row];
    const double scale = guided ? guidance.scale : 1.0;
    auto pred = base.clone();
    auto cond = base.clone();
    for (const auto& term : terms) {
      const auto difference = all[offset + term.row] - base;
      pred += difference * (term.weight * scale);
      cond += difference * term.weight;
    }
    out.push_back(pred);
    conditional.push_back(cond);
  }
  auto guided_pred = torch::stack(out);
  if (guided && guidance.rescale > 0.0) guided_pred = rescaled(guided_pred, torch::stack(conditional), guidance.rescale);
  return guided_pred;
}

}  // namespace

torch::Tensor guided_prediction(const NoisePredictor& predict, const torch::Tensor& latents,
                                const torch::Tensor& timestep, const Conditioning& batched,
                                const Guidance& guidance, bool guided, const Composition& composition) {
  if (!composition.empty())
    return composed_prediction(predict, latents, timestep, batched, guidance, guided, composition);
  if (!guided) return predict(latents, timestep, batched);
  const auto both = predict(torch::cat({latents, latents}), timestep, batched);
  const auto halves = both.chunk(2);
  const auto& uncond = halves[0];
  const auto& cond = halves[1];
  auto guided_pred = uncond + guidance.scale * (cond - uncond);
  if (guidance.rescale > 0.0) guided_pred = rescaled(guided_pred, cond, guidance.rescale);
  return guided_pred;
}

}  // namespace latent::pipeline
