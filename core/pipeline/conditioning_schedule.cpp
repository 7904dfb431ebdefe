#include "core/pipeline/conditioning_schedule.h"

#include "core/util/error.h"

namespace latent::pipeline {

ConditioningSchedule ConditioningSchedule::constant(GuidedConditioning conditioning) {
  ConditioningSchedule out;
  out.phases.push_back(std::move(conditioning));
  out.spans.push_back({0, 0});
  return out;
}

int ConditioningSchedule::phase_at_call(int call) const {
  if (phases.empty() || spans.empty()) throw Error("the conditioning schedule is empty");
  const int step = call - first_call;
  for (const auto& span : spans)
    if (step <= span.end_at_step) return span.phase;
  return spans.back().phase;
}

ConditioningSchedule ConditioningSchedule::with_concat(const torch::Tensor& channels) const {
  ConditioningSchedule out = *this;
  for (auto& phase : out.phases) phase = phase.with_concat(channels);
  return out;
}

}  // namespace latent::pipeline
