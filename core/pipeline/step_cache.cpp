#include "core/pipeline/step_cache.h"

#include <string>

#include "core/util/error.h"

namespace latent::pipeline {

bool step_cache_runs_full(int call, int calls, int interval) {
  return interval <= 1 || call == 0 || call + 1 >= calls || call % interval == 0;
}

NoisePredictor step_cached_predictor(ModelBundle& model, int interval, int calls,
                                     std::shared_ptr<StepCacheLog> log) {
  if (interval <= 1 && !log) return unet_noise_predictor(model);
  struct State {
    int next_call = 0;
    torch::Tensor deep;  // the last full call's deep features, [N, C, h, w]
  };
  auto state = std::make_shared<State>();
  return [&model, interval, calls, log, state](
             const torch::Tensor& latents, const torch::Tensor& timestep, const Conditioning& c) {
    const int call = state->next_call++;
    if (call >= calls)
      throw Error("step cache: more model calls than the run's " + std::to_string(calls));
    UNetPass pass = UNetPass::shallow;
    if (step_cache_runs_full(call, calls, interval)) {
      // Features are kept only where a later call will use them.
      const bool next_reuses = !step_cache_runs_full(call + 1, calls, interval);
      pass = next_reuses ? UNetPass::full_keeping_deep : UNetPass::full;
      if (!next_reuses) state->deep = torch::Tensor();
    }
    if (log) log->push_back(pass);
    return run_unet(model, latents, timestep, c, pass, &state->deep);
  };
}

}  // namespace latent::pipeline
