#include "core/pipeline/text_schedule.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_conditioning.h"
#include "core/text/prompt_composition.h"
#include "core/text/prompt_schedule.h"
#include "core/text/text_chars.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

using Schedule = std::vector<text::ScheduledText>;

// What the first text encoder and SDXL's second read at one step.
using TextPair = std::pair<std::string, std::string>;

// One prompt of the batch as read: its AND parts, each with its schedule, and the schedule
// of its second prompt (empty when it has none).
struct ReadPrompt {
  std::vector<text::SubPrompt> parts;
  std::vector<Schedule> part_schedules;
  Schedule second;
};

// A negative prompt as read: its schedule and its second one's.
struct ReadNegative {
  Schedule first;
  Schedule second;
};

// Distinct texts in the order they are first met, each with its row in the encoded batch.
struct DistinctTexts {
  std::vector<TextPair> texts;
  std::map<TextPair, int64_t> rows;

  int64_t row_of(const TextPair& text) {
    const auto [it, added] = rows.emplace(text, static_cast<int64_t>(texts.size()));
    if (added) texts.push_back(text);
    return it->second;
  }
};

bool is_constant(const Schedule& schedule) { return schedule.size() <= 1; }

// True when the prompts read as plain text: one part of weight 1 that is the prompt itself,
// and no schedule anywhere. Such a run is encode_text_conditioning's, bit for bit.
bool reads_plainly(const SamplingParams& p, const std::vector<ReadPrompt>& prompts,
                   const std::vector<ReadNegative>& negatives) {
  for (std::size_t j = 0; j < prompts.size(); ++j) {
    const ReadPrompt& read = prompts[j];
    if (read.parts.size() != 1 || read.parts[0].weight != 1.0 ||
        read.parts[0].text != text::right_trimmed(p.prompts[j]) || !is_constant(read.part_schedules[0]) ||
        !is_constant(read.second))
      return false;
  }
  return std::all_of(negatives.begin(), negatives.end(),
                     [](const ReadNegative& n) { return is_constant(n.first) && is_constant(n.second); });
}

TextPair pair_at(const Schedule& first, const Schedule& second, int step) {
  return {text::text_at_step(first, step), second.empty() ? std::string() : text::text_at_step(second, step)};
}

torch::Tensor rows_of(const torch::Tensor& t, const std::vector<int64_t>& rows) {
  if (!t.defined()) return t;
  return t.index_select(0, torch::tensor(rows, torch::kInt64).to(t.device()));
}

// The rows of a pass's conditioning at one span: which encoded text each conditional row
// (per image, per AND part) and each unconditional row (per image) takes.
struct PhaseRows {
  std::vector<int64_t> cond;
  std::vector<int64_t> uncond;
  bool operator<(const PhaseRows& other) const {
    return std::tie(cond, uncond) < std::tie(other.cond, other.uncond);
  }
};

// The texts padded to `count` by repeating the last (the encoders take one negative per
// prompt); `second` picks the pair's second text.
std::vector<std::string> padded(const std::vector<TextPair>& texts, std::size_t count, bool second) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    const TextPair& pair = texts[std::min(i, texts.size() - 1)];
    out.push_back(second ? pair.second : pair.first);
  }
  return out;
}

}  // namespace

ConditioningSchedule encode_text_schedule(ModelBundle& model, const SamplingParams& p, const PassSteps& steps,
                                          TimeIdsLayout layout) {
  ConditioningSchedule plain;
  plain.first_call = steps.first_call;
  if (p.prompt_syntax == PromptSyntax::Plain) {
    plain.phases.push_back(encode_text_conditioning(model, p, layout));
    plain.spans.push_back({steps.calls, 0});
    return plain;
  }
  if (p.prompts.empty()) throw Error("no prompt given");
  const text::ScheduleSteps counted{steps.calls, steps.first_pass_calls};
  const std::size_t count = p.prompts.size();
  const bool has_second = !p.prompts_2.empty();
  const bool has_negative_second = !p.negative_prompts_2.empty();
  if ((has_second && p.prompts_2.size() != count) || (has_negative_second && p.negative_prompts_2.size() != count))
    throw Error("give one second prompt per prompt");

  std::vector<ReadPrompt> prompts(count);
  std::vector<ReadNegative> negatives(count);
  for (std::size_t j = 0; j < count; ++j) {
    ReadPrompt& read = prompts[j];
    read.parts = text::split_composable_prompt(p.prompts[j]);
    for (const auto& part : read.parts) read.part_schedules.push_back(text::prompt_schedule(part.text, counted));
    if (has_second) read.second = text::prompt_schedule(p.prompts_2[j], counted);
    const std::string negative = j < p.negative_prompts.size() ? p.negative_prompts[j] : std::string();
    negatives[j].first = text::prompt_schedule(negative, counted);
    if (has_negative_second) negatives[j].second = text::prompt_schedule(p.negative_prompts_2[j], counted);
  }
  if (reads_plainly(p, prompts, negatives)) {
    plain.phases.push_back(encode_text_conditioning(model, p, layout));
    plain.spans.push_back({steps.calls, 0});
    return plain;
  }

  // Every step where some text changes ends a span.
  std::set<int> ends;
  const auto add_ends = [&ends](const Schedule& schedule) {
    for (const auto& entry : schedule) ends.insert(entry.end_at_step);
  };
  for (const auto& read : prompts) {
    for (const auto& schedule : read.part_schedules) add_ends(schedule);
    add_ends(read.second);
  }
  for (const auto& negative : negatives) {
    add_ends(negative.first);
    add_ends(negative.second);
  }

  // Each span's rows, and the distinct texts they name.
  const bool composed = std::any_of(prompts.begin(), prompts.end(), [](const ReadPrompt& read) {
    return read.parts.size() != 1 || read.parts[0].weight != 1.0;
  });
  const int images_per_prompt = p.images_per_prompt;
  DistinctTexts cond_texts, uncond_texts;
  std::vector<PhaseRows> span_rows;
  for (const int end : ends) {
    PhaseRows rows;
    for (std::size_t j = 0; j < count; ++j)
      for (int k = 0; k < images_per_prompt; ++k) {
        for (const auto& schedule : prompts[j].part_schedules)
          rows.cond.push_back(cond_texts.row_of(pair_at(schedule, prompts[j].second, end)));
        rows.uncond.push_back(uncond_texts.row_of(pair_at(negatives[j].first, negatives[j].second, end)));
      }
    span_rows.push_back(std::move(rows));
  }

  // One encoding of every distinct text, as a batch of one image per prompt.
  SamplingParams batch = p;
  batch.images_per_prompt = 1;
  const std::size_t rows = std::max(cond_texts.texts.size(), uncond_texts.texts.size());
  batch.prompts = padded(cond_texts.texts, rows, false);
  batch.prompts_2 = has_second ? padded(cond_texts.texts, rows, true) : std::vector<std::string>{};
  batch.negative_prompts = padded(uncond_texts.texts, rows, false);
  batch.negative_prompts_2 = has_negative_second ? padded(uncond_texts.texts, rows, true) : std::vector<std::string>{};
  const GuidedConditioning encoded = encode_text_conditioning(model, batch, layout);
  const bool guided = encoded.guided();
  // The time ids as the run's own batch lays them out (they do not depend on the text).
  GuidedConditioning time_ids;
  if (encoded.cond.time_ids.defined()) set_sdxl_time_ids(time_ids, model, p, layout);

  // The phases, one per distinct set of rows, and which one each span uses.
  ConditioningSchedule out;
  out.first_call = steps.first_call;
  std::map<PhaseRows, int> phase_of;
  auto end = ends.begin();
  for (const PhaseRows& rows_at : span_rows) {
    const auto [it, added] = phase_of.emplace(rows_at, static_cast<int>(out.phases.size()));
    if (added) {
      GuidedConditioning phase;
      phase.guidance = encoded.guidance;
      std::vector<int64_t> images;  // the image of each conditional row
      int64_t row = 0;
      for (std::size_t j = 0; j < count; ++j)
        for (int k = 0; k < images_per_prompt; ++k) {
          const int64_t image = static_cast<int64_t>(j) * images_per_prompt + k;
          std::vector<ComposedTerm> terms;
          for (const auto& part : prompts[j].parts) {
            terms.push_back({row++, part.weight});
            images.push_back(image);
          }
          if (composed) phase.composition.push_back(std::move(terms));
        }
      phase.cond.context = rows_of(encoded.cond.context, rows_at.cond);
      phase.cond.pooled = rows_of(encoded.cond.pooled, rows_at.cond);
      phase.cond.time_ids = rows_of(time_ids.cond.time_ids, images);
      if (encoded.cond.timestep_cond.defined())  // the same guidance embedding for every row
        phase.cond.timestep_cond = rows_of(encoded.cond.timestep_cond, std::vector<int64_t>(images.size(), 0));
      if (guided) {
        phase.uncond.context = rows_of(encoded.uncond.context, rows_at.uncond);
        phase.uncond.pooled = rows_of(encoded.uncond.pooled, rows_at.uncond);
        phase.uncond.time_ids = time_ids.uncond.time_ids;
      }
      out.phases.push_back(std::move(phase));
    }
    const int phase = it->second;
    if (!out.spans.empty() && out.spans.back().phase == phase)
      out.spans.back().end_at_step = *end;  // the same conditioning goes on
    else
      out.spans.push_back({*end, phase});
    ++end;
  }
  return out;
}

}  // namespace latent::pipeline
