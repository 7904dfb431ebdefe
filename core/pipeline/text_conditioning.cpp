#include "core/pipeline/text_conditioning.h"

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/prompt_encoder.h"
#include "core/pipeline/sdxl_prompt_encoder.h"
#include "core/pipeline/text_encoder_residency.h"

namespace latent::pipeline {

torch::Tensor encode_prompts(ModelBundle& model, const std::vector<std::string>& texts, int clip_skip) {
  std::vector<torch::Tensor> rows;
  for (const auto& text : texts) {
    const auto ids = model.tokenizer().encode_padded(text);
    rows.push_back(torch::tensor(ids, torch::kInt64));
  }
  const auto input_ids = torch::stack(rows).to(model.device);  // [N,77]
  return model.text_encoder()->forward(input_ids, clip_skip).to(torch::kFloat32);  // [N,77,D]
}

namespace {

GuidedConditioning encode_family_conditioning(ModelBundle& model, const SamplingParams& p,
                                              TimeIdsLayout layout) {
  if (io::is_sdxl(model.family))
    return p.prompt_syntax == PromptSyntax::Weighted ? encode_sdxl_weighted_conditioning(model, p, layout)
                                                     : encode_sdxl_conditioning(model, p, layout);
  const bool guided = p.guided();
  std::vector<std::string> negatives = p.negative_prompts;
  negatives.resize(p.prompts.size());
  torch::Tensor cond, uncond;
  if (p.prompt_syntax == PromptSyntax::Weighted) {
    WeightedPromptOptions options;
    options.clip_skip = p.clip_skip;
    options.embeddings_dir = p.embeddings_dir;
    auto weighted = encode_weighted_prompts(model, p.prompts, guided ? &negatives : nullptr, options);
    cond = weighted.cond;
    uncond = weighted.uncond;
  } else {
    cond = encode_prompts(model, p.prompts, p.clip_skip);
    if (guided) uncond = encode_prompts(model, negatives, 0);  // diffusers: no clip skip here
  }
  GuidedConditioning out;
  out.guidance = {p.guidance_scale, p.guidance_rescale};
  out.cond.context = cond.repeat_interleave(p.images_per_prompt, 0);
  if (guided) out.uncond.context = uncond.repeat_interleave(p.images_per_prompt, 0);
  return out;
}

}  // namespace

GuidedConditioning encode_text_conditioning(ModelBundle& model, const SamplingParams& p, TimeIdsLayout layout) {
  const TextEncoderUse use(model);  // loaded again if low-memory mode released them
  const int64_t embedding_dim = model.unet->config.time_cond_proj_dim;
  if (embedding_dim == 0) return encode_family_conditioning(model, p, layout);
  // An LCM-distilled UNet takes the guidance as an embedding of w = guidance − 1 and never
  // a guided batch (diffusers' pipelines turn classifier-free guidance off for it), so the
  // negative prompt is not encoded at all.
  SamplingParams unguided = p;
  unguided.guidance_scale = 1.0;
  GuidedConditioning out = encode_family_conditioning(model, unguided, layout);
  out.guidance = {p.guidance_scale, p.guidance_rescale};
  // diffusers: torch.tensor(guidance_scale − 1), float32, one per image.
  const auto w = torch::full({p.batch()}, static_cast<float>(p.guidance_scale - 1.0), torch::kFloat32);
  out.cond.timestep_cond = models::guidance_scale_embedding(w, embedding_dim).to(model.device);
  return out;
}

}  // namespace latent::pipeline
