#pragma once

// The emphasis language people write prompts in, read as AUTOMATIC1111's web UI reads it
// (modules/prompt_parser.py, parse_prompt_attention): `(text)` ×1.1, `[text]` ÷1.1,
// `(text:1.5)` an explicit weight, nesting multiplies, `\(` `\)` `\[` `\]` `\\` are literal
// characters, and the word `BREAK` starts a new 75-token chunk. Torch-free.

#include <string>
#include <vector>

namespace latent::text {

// A run of prompt text read with one weight, or a BREAK between runs.
struct PromptPiece {
  std::string text;
  double weight = 1.0;
  bool is_break = false;  // `BREAK`: the text is "BREAK" and the weight 1

  bool operator==(const PromptPiece& other) const {
    return text == other.text && weight == other.weight && is_break == other.is_break;
  }
};

// Weights further from zero than this are refused: 1.1 to 1.5 is already strong emphasis,
// and the mean restoration turns larger values into noise (or, in fp16, infinities).
constexpr double kMaxPromptWeight = 100.0;

// Prompts longer than this (in bytes) are refused rather than read for minutes.
constexpr std::size_t kMaxPromptBytes = 200000;

// Splits `prompt` into pieces with their weights, merging neighbours of equal weight, as the
// web UI does. Sensible readings of what is not well formed, as the web UI gives them:
// an unclosed `(` or `[` runs to the end of the prompt, a `)` or `]` with nothing to close is
// a literal character, `:` outside a weight is text, a lone `\` is dropped, and a weight that
// is not a number (`(a:1.2.3)`) leaves the `:1.2.3` as text. Where we differ: `1e3` is
// accepted as a number, and a BREAK inside brackets still breaks. An empty prompt gives one
// empty piece of weight 1. Throws latent::Error for a weight that is not finite or beyond
// ±kMaxPromptWeight (naming the text and the weight), and for prompts over kMaxPromptBytes.
// Bytes are not interpreted: UTF-8 (valid or not) and control characters pass through to
// the tokenizer unchanged.
std::vector<PromptPiece> parse_prompt_attention(const std::string& prompt);

}  // namespace latent::text
