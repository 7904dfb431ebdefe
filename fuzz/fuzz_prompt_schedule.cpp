// Fuzzes prompt editing, alternation and AND: the first byte gives the steps (1 to 64), the
// second a first pass's steps (0: none), the rest is the prompt. Every part of every prompt
// gets a schedule whose steps rise to exactly the run's last, or latent::Error.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/text/prompt_composition.h"
#include "core/text/prompt_schedule.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace text = latent::text;
  if (size < 2) return 0;
  const text::ScheduleSteps steps{1 + data[0] % 64, data[1] % 3 == 0 ? 0 : data[1] % 64};
  const std::string prompt(reinterpret_cast<const char*>(data + 2), size - 2);
  try {
    for (const auto& part : text::split_composable_prompt(prompt)) {
      const auto schedule = text::prompt_schedule(part.text, steps);
      if (schedule.empty() || schedule.back().end_at_step != steps.steps) std::abort();
      for (std::size_t i = 1; i < schedule.size(); ++i)
        if (schedule[i].end_at_step <= schedule[i - 1].end_at_step || schedule[i - 1].end_at_step < 1) std::abort();
      if (&text::text_at_step(schedule, 0) != &schedule.front().text) std::abort();
    }
  } catch (const latent::Error&) {
  }
  return 0;
}
