#pragma once

// The encode-conditioning stage for prompts in the web UI's whole language: prompt editing,
// alternation (prompt_schedule.h) and AND (prompt_composition.h) on top of what
// encode_text_conditioning reads. Each distinct text of the run, prompt or negative, is
// encoded once (all of them in one batch, padded to one chunk count); each step's
// conditioning is made of their rows. A run whose prompts use none of this is exactly
// encode_text_conditioning's, at no extra cost. SD 1.x, 2.x and SDXL (whose pooled vector
// follows the step's text) alike; SDXL's second prompts are scheduled as well.
// Reference: AUTOMATIC1111 stable-diffusion-webui modules/prompt_parser.py
// (get_multicond_learned_conditioning, reconstruct_multicond_batch) and
// modules/processing.py (setup_conds: the steps a schedule is counted in).

#include "core/pipeline/conditioning_schedule.h"
#include "core/pipeline/pipeline_params.h"
#include "core/pipeline/sdxl_conditioning.h"

namespace latent::pipeline {

struct ModelBundle;

// How one pass counts the steps of its prompts' schedules.
struct PassSteps {
  int calls = 1;             // the model calls of the pass's whole schedule (the web UI's total steps)
  int first_call = 0;        // the call that is step 0: the first one the pass runs (image to
                             // image starts part-way, and counts from there, as the web UI does)
  int first_pass_calls = 0;  // a hires fix's second pass: the first pass's calls (see text::ScheduleSteps)
};

// The run's text conditioning, step by step. PromptSyntax::Plain reads no schedule (as
// diffusers reads prompts). Negative prompts are scheduled but not split at AND, as in the
// web UI. Throws latent::Error for what encode_text_conditioning refuses and for AND weights
// out of range.
ConditioningSchedule encode_text_schedule(ModelBundle& model, const SamplingParams& params,
                                          const PassSteps& steps,
                                          TimeIdsLayout layout = TimeIdsLayout::text_to_image);

}  // namespace latent::pipeline
