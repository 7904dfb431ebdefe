// After diffusers' pipelines/stable_diffusion_xl/pipeline_stable_diffusion_xl.py
// (encode_prompt, _get_add_time_ids) and pipeline_stable_diffusion_xl_img2img.py.
#include "core/pipeline/sdxl_conditioning.h"

#include "core/pipeline/model_bundle.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

// The texts one encoder reads: the base pairs `prompt` with text_encoder and `prompt_2`
// (default: `prompt`) with text_encoder_2; the refiner's only encoder reads `prompt`.
const std::vector<std::string>& texts_for(size_t encoder, const std::vector<std::string>& first,
                                          const std::vector<std::string>& second) {
  return encoder == 0 || second.empty() ? first : second;
}

struct Encoded {
  torch::Tensor hidden;  // [N, 77, ΣD] float32
  torch::Tensor pooled;  // [N, P] float32
};

// Every encoder's hidden_states[-(clip_skip + 2)], unnormed, joined along the features;
// the pooled vector from the first encoder that projects one.
Encoded encode_texts(ModelBundle& model, const std::vector<std::string>& first,
                     const std::vector<std::string>& second, int clip_skip) {
  std::vector<torch::Tensor> states;
  torch::Tensor pooled;
  for (size_t e = 0; e < model.text_encoders.size(); ++e) {
    auto& encoder = model.text_encoders[e];
    std::vector<torch::Tensor> rows;
    for (const auto& text : texts_for(e, first, second))
      rows.push_back(torch::tensor(encoder.tokenizer->encode_padded(text), torch::kInt64));
    const auto ids = torch::stack(rows).to(model.device);  // [N, 77]
    const bool wants_pooled = !pooled.defined() && encoder.model->has_projection();
    const auto out = encoder.model->encode(ids, models::CLIPEncodeOptions::sdxl(clip_skip, wants_pooled));
    states.push_back(out.hidden.to(torch::kFloat32));
    if (wants_pooled) pooled = out.pooled.to(torch::kFloat32);
  }
  if (!pooled.defined())
    throw Error("this SDXL model has no text encoder with a projection (text_encoder_2 must be a "
                "CLIPTextModelWithProjection)");
  return {torch::cat(states, -1), pooled};
}

// One row per prompt, `count` of them.
std::vector<std::string> one_per_prompt(const std::vector<std::string>& texts, size_t count) {
  std::vector<std::string> out = texts;
  out.resize(count);
  return out;
}

}  // namespace

torch::Tensor sdxl_time_ids(const ModelBundle& model, const SamplingParams& p, bool negative) {
  const bool own_negative_sizes = negative && p.negative_original_width > 0 && p.negative_original_height > 0 &&
                                  p.negative_target_width > 0 && p.negative_target_height > 0;
  const auto size_or_picture = [](int value, int picture) { return static_cast<float>(value > 0 ? value : picture); };
  std::vector<float> ids;
  if (own_negative_sizes) {
    ids = {static_cast<float>(p.negative_original_height), static_cast<float>(p.negative_original_width),
           static_cast<float>(p.negative_crop_top), static_cast<float>(p.negative_crop_left)};
  } else {
    ids = {size_or_picture(p.original_height, p.height), size_or_picture(p.original_width, p.width),
           static_cast<float>(p.crop_top), static_cast<float>(p.crop_left)};
  }
  if (model.requires_aesthetics_score) {
    ids.push_back(static_cast<float>(negative ? p.negative_aesthetic_score : p.aesthetic_score));
  } else if (own_negative_sizes) {
    ids.push_back(static_cast<float>(p.negative_target_height));
    ids.push_back(static_cast<float>(p.negative_target_width));
  } else {
    ids.push_back(size_or_picture(p.target_height, p.height));
    ids.push_back(size_or_picture(p.target_width, p.width));
  }
  return torch::tensor(ids, torch::kFloat32).unsqueeze(0);  // [1, 6] or [1, 5]
}

void set_sdxl_time_ids(GuidedConditioning& out, const ModelBundle& model, const SamplingParams& p,
                       TimeIdsLayout layout) {
  const auto rows = static_cast<int64_t>(p.prompts.size()) * p.images_per_prompt;
  const auto positive_ids = sdxl_time_ids(model, p, false);
  out.cond.time_ids = positive_ids.repeat({rows, 1}).to(model.device);
  if (!p.guided()) return;
  const auto negative_ids = sdxl_time_ids(model, p, true);
  if (layout == TimeIdsLayout::text_to_image) {
    // cat([negative, positive]).repeat(rows, 1), split back into the two halves.
    const auto pairs = torch::cat({negative_ids, positive_ids}).repeat({rows, 1});
    out.uncond.time_ids = pairs.slice(0, 0, rows).to(model.device);
    out.cond.time_ids = pairs.slice(0, rows, 2 * rows).to(model.device);
  } else {
    out.uncond.time_ids = negative_ids.repeat({rows, 1}).to(model.device);
  }
}

GuidedConditioning encode_sdxl_conditioning(ModelBundle& model, const SamplingParams& p, TimeIdsLayout layout) {
  const size_t count = p.prompts.size();
  const int64_t repeats = p.images_per_prompt;
  const auto cond = encode_texts(model, p.prompts, p.prompts_2, p.clip_skip);

  GuidedConditioning out;
  out.guidance = {p.guidance_scale, p.guidance_rescale};
  out.cond.context = cond.hidden.repeat_interleave(repeats, 0);
  out.cond.pooled = cond.pooled.repeat_interleave(repeats, 0);
  set_sdxl_time_ids(out, model, p, layout);
  if (!p.guided()) return out;

  // diffusers zeros the negative side only when no negative prompt was given at all; an
  // explicit "" is encoded like any prompt.
  const bool negative_given = !p.negative_prompts.empty();
  if (!negative_given && model.force_zeros_for_empty_prompt) {
    out.uncond.context = torch::zeros_like(out.cond.context);
    out.uncond.pooled = torch::zeros_like(out.cond.pooled);
  } else {
    // The negative prompt is always read at the penultimate layer, whatever the clip skip.
    const auto negatives = one_per_prompt(p.negative_prompts, count);
    const auto negatives_2 = p.negative_prompts_2.empty() ? negatives : one_per_prompt(p.negative_prompts_2, count);
    const auto uncond = encode_texts(model, negatives, negatives_2, 0);
    out.uncond.context = uncond.hidden.repeat_interleave(repeats, 0);
    out.uncond.pooled = uncond.pooled.repeat_interleave(repeats, 0);
  }
  return out;
}

}  // namespace latent::pipeline
