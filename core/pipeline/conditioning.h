#pragma once

// Everything that steers the model at one call besides the latents and the timestep, as
// one value: the cross-attention context every family has, and the optional parts other
// families and kinds of control add. A stage fills what it knows (the text encoders the
// context and pooled vector, an inpainting run the extra channels, a ControlNet the
// residuals); the model call uses whatever is set and refuses what its network cannot take.

#include <torch/torch.h>

#include <vector>

namespace latent::pipeline {

struct Conditioning {
  torch::Tensor context;   // [N, L, D] cross-attention states (text embeddings)
  torch::Tensor pooled;    // [N, P] pooled text embedding (SDXL's text_embeds); optional
  torch::Tensor time_ids;  // [N, k] size and crop ids (SDXL's add_time_ids); optional
  torch::Tensor concat;    // [N, C, h, w] channels concatenated to the latents (inpainting UNets)
  // [N, d] the guidance-scale embedding of LCM-distilled UNets (diffusers' timestep_cond),
  // which take guidance this way instead of a guided batch; optional.
  torch::Tensor timestep_cond;
  // Added to the UNet's skip connections, one per skip, and to its middle block's output
  // (ControlNet); optional.
  std::vector<torch::Tensor> down_residuals;
  torch::Tensor mid_residual;

  // [first; second] along the batch, part by part: the guided batch [uncond; cond].
  static Conditioning stack(const Conditioning& first, const Conditioning& second);

  // Every part converted to `dtype` on `device` (done once, before the loop).
  Conditioning to(const torch::Device& device, torch::ScalarType dtype) const;

  // The same conditioning with `channels` ([N, C, h, w]) as its extra input channels.
  Conditioning with_concat(const torch::Tensor& channels) const;
};

// Classifier-free guidance: uncond + scale·(cond − uncond), then, when `rescale` > 0,
// diffusers' rescale_noise_cfg (Lin et al., "Common Diffusion Noise Schedules and Sample
// Steps are Flawed", §3.4): the guided prediction's standard deviation pulled back
// towards the conditional one's by that fraction.
struct Guidance {
  double scale = 7.5;
  double rescale = 0.0;
};

// AND composition (prompt_composition.h): which rows of the conditional batch make up each
// image, and their weights. Row `row` of GuidedConditioning::cond.
struct ComposedTerm {
  int64_t row = 0;
  double weight = 1.0;
};
// One list of terms per image; empty = the usual batch, one row of weight 1 per image.
using Composition = std::vector<std::vector<ComposedTerm>>;

// The conditioning of a run under classifier-free guidance: the prompt's and, when
// guidance is on, the negative prompt's. The model sees them as one batch.
struct GuidedConditioning {
  Conditioning cond;    // one row per image, or with `composition` one per term
  Conditioning uncond;  // empty (no context) when guidance is off; one row per image
  Guidance guidance;
  Composition composition;

  bool guided() const { return uncond.context.defined(); }
  // [uncond; cond] with guidance, cond alone without.
  Conditioning batched() const;
  // For each row of `cond`, the image it belongs to.
  std::vector<int64_t> cond_images() const;
  // Both halves with `channels` ([images, C, h, w]) as their extra input channels, each
  // row of `cond` given its image's.
  GuidedConditioning with_concat(const torch::Tensor& channels) const;
};

}  // namespace latent::pipeline
