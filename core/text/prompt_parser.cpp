// Reference: AUTOMATIC1111 stable-diffusion-webui modules/prompt_parser.py
// (parse_prompt_attention and its re_attention / re_break expressions).
#include "core/text/prompt_parser.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/text/text_chars.h"
#include "core/util/error.h"

namespace latent::text {
namespace {

constexpr double kRoundMultiplier = 1.1;
constexpr double kSquareMultiplier = 1 / 1.1;

bool is_special(char c) {
  return c == '\\' || c == '(' || c == ')' || c == '[' || c == ']' || c == ':';
}

// Locale-independent: Qt programs run with the user's LC_NUMERIC, where strtod may want ','.
std::optional<double> parse_number(const std::string& s) {
  std::size_t begin = 0;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    begin = 1;
  }
  double value = 0;
  const char* first = s.data() + begin;
  const char* last = s.data() + s.size();
  const auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc() || end != last) return std::nullopt;
  return negative ? -value : value;
}

// `:\s*([+-]?[.\d]+(?:[eE][+-]?\d+)?)\s*\)` at `pos` (which holds ':'): the position after
// the ')' and the number's text, or nothing.
std::optional<std::pair<std::size_t, std::string>> match_weight(const std::string& s,
                                                                std::size_t pos) {
  std::size_t i = pos + 1;
  const std::size_t n = s.size();
  while (i < n && is_space(static_cast<unsigned char>(s[i]))) ++i;
  const std::size_t number_begin = i;
  if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
  const std::size_t mantissa_begin = i;
  while (i < n && (is_digit(s[i]) || s[i] == '.')) ++i;
  if (i == mantissa_begin) return std::nullopt;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < n && (s[j] == '+' || s[j] == '-')) ++j;
    const std::size_t digits = j;
    while (j < n && is_digit(s[j])) ++j;
    if (j > digits) i = j;
  }
  const std::size_t number_end = i;
  while (i < n && is_space(static_cast<unsigned char>(s[i]))) ++i;
  if (i >= n || s[i] != ')') return std::nullopt;
  return std::make_pair(i + 1, s.substr(number_begin, number_end - number_begin));
}

// A run of text split at each `\s*\bBREAK\b\s*`, as re.split(re_break, text) would.
std::vector<std::string> split_breaks(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t part_begin = 0;  // where the current part starts
  std::size_t search = 0;
  static const std::string kBreak = "BREAK";
  while (true) {
    const std::size_t k = text.find(kBreak, search);
    if (k == std::string::npos) break;
    const std::size_t after = k + kBreak.size();
    const bool left_edge = k == 0 || !is_word(static_cast<unsigned char>(text[k - 1]));
    const bool right_edge =
        after == text.size() || !is_word(static_cast<unsigned char>(text[after]));
    if (!left_edge || !right_edge) {
      search = k + 1;
      continue;
    }
    std::size_t match_begin = k;
    while (match_begin > part_begin && is_space(static_cast<unsigned char>(text[match_begin - 1])))
      --match_begin;
    std::size_t match_end = after;
    while (match_end < text.size() && is_space(static_cast<unsigned char>(text[match_end])))
      ++match_end;
    parts.push_back(text.substr(part_begin, match_begin - part_begin));
    part_begin = search = match_end;
  }
  parts.push_back(text.substr(part_begin));
  return parts;
}

std::string shorten(const std::string& text) {
  constexpr std::size_t kMax = 40;
  if (text.size() <= kMax) return text;
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

std::string format_weight(double weight) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", weight);
  return buffer;
}

}  // namespace

std::vector<PromptPiece> parse_prompt_attention(const std::string& prompt) {
  if (prompt.size() > kMaxPromptBytes)
    throw Error("the prompt is " + std::to_string(prompt.size()) + " bytes long; at most " +
                std::to_string(kMaxPromptBytes) + " are accepted");

  std::vector<PromptPiece> res;
  std::vector<std::size_t> round_brackets;
  std::vector<std::size_t> square_brackets;
  // Each bracket multiplies every piece from its opening to the current end, in closing
  // order, so the products round exactly as the web UI's do.
  auto multiply_range = [&](std::size_t start, double multiplier) {
    for (std::size_t p = start; p < res.size(); ++p)
      if (!res[p].is_break) res[p].weight *= multiplier;
  };
  auto add_text = [&](const std::string& text) {
    const auto parts = split_breaks(text);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) res.push_back({"BREAK", 1.0, true});
      res.push_back({parts[i], 1.0, false});
    }
  };

  const std::size_t n = prompt.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = prompt[i];
    if (c == '\\') {
      const bool escapes =
          i + 1 < n && (prompt[i + 1] == '(' || prompt[i + 1] == ')' || prompt[i + 1] == '[' ||
                        prompt[i + 1] == ']' || prompt[i + 1] == '\\');
      // An escaped character is a piece of its own, without BREAK handling; a lone
      // backslash is dropped.
      res.push_back({escapes ? std::string(1, prompt[i + 1]) : std::string(), 1.0, false});
      i += escapes ? 2 : 1;
    } else if (c == '(') {
      round_brackets.push_back(res.size());
      ++i;
    } else if (c == '[') {
      square_brackets.push_back(res.size());
      ++i;
    } else if (c == ':') {
      const auto weight = match_weight(prompt, i);
      const auto value = weight ? parse_number(weight->second) : std::nullopt;
      if (value && !round_brackets.empty()) {
        const std::size_t start = round_brackets.back();
        round_brackets.pop_back();
        multiply_range(start, *value);
        i = weight->first;
      } else {
        // Not a weight (or nothing to close): the colon is text and what follows is read
        // on its own, which gives the web UI's reading where it has one.
        add_text(":");
        ++i;
      }
    } else if (c == ')' && !round_brackets.empty()) {
      const std::size_t start = round_brackets.back();
      round_brackets.pop_back();
      multiply_range(start, kRoundMultiplier);
      ++i;
    } else if (c == ']' && !square_brackets.empty()) {
      const std::size_t start = square_brackets.back();
      square_brackets.pop_back();
      multiply_range(start, kSquareMultiplier);
      ++i;
    } else if (c == ')' || c == ']') {
      add_text(std::string(1, c));
      ++i;
    } else {
      std::size_t end = i;
      while (end < n && !is_special(prompt[end])) ++end;
      add_text(prompt.substr(i, end - i));
      i = end;
    }
  }
  for (const std::size_t start : round_brackets) multiply_range(start, kRoundMultiplier);
  for (const std::size_t start : square_brackets) multiply_range(start, kSquareMultiplier);

  if (res.empty()) res.push_back({"", 1.0, false});

  std::vector<PromptPiece> merged;
  for (auto& piece : res) {
    if (!merged.empty() && !piece.is_break && !merged.back().is_break &&
        merged.back().weight == piece.weight)
      merged.back().text += piece.text;
    else
      merged.push_back(std::move(piece));
  }

  for (const auto& piece : merged) {
    if (!std::isfinite(piece.weight) || std::fabs(piece.weight) > kMaxPromptWeight)
      throw Error("the prompt gives \"" + shorten(piece.text) + "\" the weight " +
                  format_weight(piece.weight) + "; weights must lie between -" +
                  format_weight(kMaxPromptWeight) + " and " + format_weight(kMaxPromptWeight) +
                  " (1.1 to 1.5 is already strong emphasis)");
  }
  return merged;
}

}  // namespace latent::text
