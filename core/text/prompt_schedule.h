#pragma once

// Prompt editing and alternation, read as AUTOMATIC1111's web UI reads them
// (modules/prompt_parser.py, get_learned_conditioning_prompt_schedules and its lark grammar):
//   [from:to:when]  `from` until step `when`, `to` after it
//   [to:when]       nothing until `when`, then `to`
//   [from::when]    `from` until `when`, then nothing
//   [a|b|c]         a at step 1, b at step 2, c at step 3, a at step 4, ...
// `when` is a step number when written without a point (`10`) and a fraction of the steps
// with one (`0.5`, `.25`, `1.0`): the web UI's rule since version 1.6. Constructs nest. The
// result is the list of texts the prompt takes during the run, each with the last step it is
// used at; the emphasis syntax inside them is left for parse_prompt_attention. Torch-free.

#include <string>
#include <vector>

namespace latent::text {

// One text of a prompt's schedule: used for every step up to and including `end_at_step`
// (after the previous entry's).
struct ScheduledText {
  int end_at_step = 0;
  std::string text;

  bool operator==(const ScheduledText& other) const {
    return end_at_step == other.end_at_step && text == other.text;
  }
};

// How the steps of a schedule are counted. A first pass: `steps` of them, `when` counted from
// its start. A hires fix's second pass (first_pass_steps > 0): `steps` of its own, a whole
// `when` counted from the first pass's start (the second pass begins at first_pass_steps) and
// a fraction from 1.0 (1.5 = halfway through the second pass), as the web UI counts them.
struct ScheduleSteps {
  int steps = 1;
  int first_pass_steps = 0;
};

// Brackets nested deeper than this make the prompt be read as written (the web UI's parser
// has no such limit; no one writes prompts like that, and the limit bounds the recursion).
constexpr int kMaxScheduleNesting = 32;

// The prompt's schedule, ordered by step; the last entry ends at `steps`. A prompt without
// editing or alternation gives one entry with the prompt as written. What the web UI's
// grammar does not accept is read as written as a whole, as the web UI does: a `|` outside
// an alternation, a `\` at the very end (or before a line break), and brackets nested
// deeper than kMaxScheduleNesting. A bracket that cannot close (`a [b`) is text. Throws
// latent::Error for `steps` < 1 and for a schedule whose texts would take more than
// kMaxScheduleBytes.
std::vector<ScheduledText> prompt_schedule(const std::string& prompt, const ScheduleSteps& steps);

// The most text a schedule may hold (each entry counts its text).
constexpr std::size_t kMaxScheduleBytes = 16u << 20;

// The text of `schedule` at `step` (0-based calls count from 0, as the web UI's denoiser
// counts them): the first entry with step <= end_at_step, else the last one.
const std::string& text_at_step(const std::vector<ScheduledText>& schedule, int step);

}  // namespace latent::text
