#include "core/pipeline/pipeline_params.h"

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/request_validation.h"
#include "core/util/error.h"

namespace latent::pipeline {

SamplingParams SamplingParams::from_request(const api::GenerationRequest& r) {
  SamplingParams p;
  p.prompts = {r.prompt};
  // An empty negative prompt is no negative prompt: SD 1.x and 2.x encode "" for it either
  // way, and an SDXL base then uses zero embeddings, as diffusers does by default.
  if (!r.negative_prompt.empty()) p.negative_prompts = {r.negative_prompt};
  p.images_per_prompt = r.size.batch_size;
  p.width = r.size.width;
  p.height = r.size.height;
  p.steps = r.sampling.steps;
  p.guidance_scale = r.sampling.guidance_scale;
  p.guidance_rescale = r.sampling.guidance_rescale;
  p.seed = r.sampling.seed;
  p.sampler = r.sampling.sampler;
  p.clip_skip = r.sampling.clip_skip - 1;  // the web UI's 1 (last layer) is diffusers' 0
  p.eta = r.sampling.eta;
  p.timestep_spacing = r.sampling.timestep_spacing;
  p.zero_snr = r.sampling.zero_snr;
  p.lcm_original_steps = r.sampling.lcm_original_steps;
  p.tcd_gamma = r.sampling.tcd_gamma;
  p.step_cache = r.sampling.step_cache;
  p.prompt_syntax = PromptSyntax::Weighted;
  p.embeddings_dir = r.embeddings_dir;
  if (!r.prompt_2.empty()) p.prompts_2 = {r.prompt_2};
  if (!r.negative_prompt_2.empty()) p.negative_prompts_2 = {r.negative_prompt_2};
  p.original_width = r.sdxl.original_width;
  p.original_height = r.sdxl.original_height;
  p.crop_left = r.sdxl.crop_left;
  p.crop_top = r.sdxl.crop_top;
  p.target_width = r.sdxl.target_width;
  p.target_height = r.sdxl.target_height;
  p.aesthetic_score = r.sdxl.aesthetic_score;
  p.negative_aesthetic_score = r.sdxl.negative_aesthetic_score;
  return p;
}

void validate_params(const ModelBundle& model, const SamplingParams& p) {
  api::GenerationRequest shape_check;
  shape_check.size.width = p.width;
  shape_check.size.height = p.height;
  shape_check.size.batch_size = p.images_per_prompt;
  shape_check.sampling.steps = p.steps;
  shape_check.sampling.guidance_scale = p.guidance_scale;
  shape_check.sampling.clip_skip = p.clip_skip + 1;
  shape_check.sampling.eta = p.eta;
  shape_check.sampling.timestep_spacing = p.timestep_spacing;
  shape_check.sampling.step_cache = p.step_cache;
  validate_request(shape_check);
  // At ᾱ = 0 an epsilon prediction says nothing about the picture (diffusers divides by
  // zero there): a zero-SNR schedule is for v-prediction models.
  if (p.zero_snr && model.prediction_type() != "v_prediction")
    throw Error("zero terminal SNR needs a v-prediction model, and '" + model.name +
                "' predicts " + model.prediction_type() +
                " (a single file of Stable Diffusion 2.x can be told it predicts v)");
  if (p.prompts.empty()) throw Error("no prompt given");
  if (!p.negative_prompts.empty() && p.negative_prompts.size() != p.prompts.size())
    throw Error("give one negative prompt per prompt (" + std::to_string(p.prompts.size()) +
                " prompts, " + std::to_string(p.negative_prompts.size()) + " negative prompts)");
  // SD 1.x and 2.x read hidden_states[-(k+1)], SDXL hidden_states[-(k+2)]: neither may
  // reach the embeddings below the first layer.
  const int reach = p.clip_skip + (io::is_sdxl(model.family) ? 1 : 0);
  for (const auto& encoder : model.text_encoders) {
    const int layers = static_cast<int>(encoder.model->config().num_hidden_layers);
    if (reach >= layers)
      throw Error("clip skip " + std::to_string(p.clip_skip + 1) + " is too deep: the text encoder has " +
                  std::to_string(layers) + " layers");
  }
}

StepObserver pass_observer(const StepObserver& observer, int calls_before, int total) {
  if (!observer) return {};
  return [&observer, calls_before, total](const StepState& state) {
    StepState in_run = state;
    in_run.index += calls_before;
    in_run.total = total;
    observer(in_run);
  };
}

}  // namespace latent::pipeline
