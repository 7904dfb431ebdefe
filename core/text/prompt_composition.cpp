// Reference: AUTOMATIC1111 stable-diffusion-webui modules/prompt_parser.py
// (get_multicond_prompt_list: re_AND = \bAND\b and
// re_weight = ^((?:\s|.)*?)(?:\s*:\s*([-+]?(?:\d+\.?|\d*\.\d+)))?\s*$).
#include "core/text/prompt_composition.h"

#include <charconv>
#include <cmath>

#include "core/text/prompt_parser.h"
#include "core/text/text_chars.h"
#include "core/util/error.h"

namespace latent::text {
namespace {

// [-+]?(?:\d+\.?|\d*\.\d+) as the whole of `s`.
bool is_weight_number(const std::string& s) {
  std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  return digits > 0 && i == s.size();
}

double number_value(const std::string& s) {
  const std::size_t begin = s[0] == '+' || s[0] == '-' ? 1 : 0;
  double v = 0;
  const auto result = std::from_chars(s.data() + begin, s.data() + s.size(), v);
  if (result.ec == std::errc::result_out_of_range) v = HUGE_VAL;
  return s[0] == '-' ? -v : v;
}

// re_weight on one part: the text without trailing whitespace, and the weight that ends it.
SubPrompt read_part(const std::string& part) {
  const std::string trimmed = right_trimmed(part);
  const std::size_t colon = trimmed.rfind(':');
  if (colon != std::string::npos) {
    std::size_t begin = colon + 1;
    while (begin < trimmed.size() && is_space(static_cast<unsigned char>(trimmed[begin]))) ++begin;
    const std::string number = trimmed.substr(begin);
    if (is_weight_number(number)) {
      const double weight = number_value(number);
      if (!std::isfinite(weight) || std::fabs(weight) > kMaxPromptWeight)
        throw Error("the AND weight '" + number + "' of '" + part + "' is beyond ±" +
                    std::to_string(static_cast<int>(kMaxPromptWeight)));
      return {right_trimmed(trimmed.substr(0, colon)), weight};
    }
  }
  return {trimmed, 1.0};
}

}  // namespace

std::vector<SubPrompt> split_composable_prompt(const std::string& prompt) {
  std::vector<SubPrompt> parts;
  std::size_t begin = 0;
  for (std::size_t i = 0; i + 3 <= prompt.size(); ++i) {
    if (prompt.compare(i, 3, "AND") != 0) continue;
    const bool word_before = i > 0 && is_word(static_cast<unsigned char>(prompt[i - 1]));
    const bool word_after = i + 3 < prompt.size() && is_word(static_cast<unsigned char>(prompt[i + 3]));
    if (word_before || word_after) continue;
    parts.push_back(read_part(prompt.substr(begin, i - begin)));
    begin = i + 3;
    i += 2;
  }
  parts.push_back(read_part(prompt.substr(begin)));
  return parts;
}

}  // namespace latent::text
