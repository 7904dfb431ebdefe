#pragma once

// The text conditioning of a run whose prompts change while it runs (prompt editing and
// alternation, prompt_schedule.h): a few distinct conditionings ("phases") and, step by
// step, which one the model sees. Steps are counted as the web UI's denoiser counts its
// calls: from 0 at the pass's first model call (`first_call`), a step using the first
// span whose end_at_step it does not pass.

#include <vector>

#include "core/pipeline/conditioning.h"

namespace latent::pipeline {

struct ConditioningSpan {
  int end_at_step = 0;
  int phase = 0;  // index into ConditioningSchedule::phases
};

struct ConditioningSchedule {
  std::vector<GuidedConditioning> phases;  // distinct, in the order of their first use
  std::vector<ConditioningSpan> spans;     // by step; the last one also covers every later step
  int first_call = 0;                      // the scheduler call that is step 0

  static ConditioningSchedule constant(GuidedConditioning conditioning);

  bool changes() const { return phases.size() > 1; }
  // The phase at scheduler call `call` (step call − first_call).
  int phase_at_call(int call) const;
  const GuidedConditioning& at_call(int call) const { return phases.at(static_cast<std::size_t>(phase_at_call(call))); }
  // Every phase with `channels` as its extra input channels (GuidedConditioning::with_concat).
  ConditioningSchedule with_concat(const torch::Tensor& channels) const;
};

}  // namespace latent::pipeline
