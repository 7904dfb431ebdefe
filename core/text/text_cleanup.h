#pragma once

// Prompt clean-up applied before CLIP's byte-level BPE, in the two flavours found in the
// field: transformers' CLIPTokenizer without ftfy (its BasicTokenizer fallback) and with
// ftfy (what OpenAI's CLIP and most other Stable Diffusion programs do). Text is handled
// as Unicode code points; Qt's character tables (Unicode 14, as Python 3.11) decide
// categories, case and normalisation.

#include <string>

namespace latent::text {

enum class TextCleanup {
  Basic,  // transformers CLIPTokenizer without ftfy (the default diffusers install)
  Ftfy,   // an approximation of ftfy.fix_text + whitespace_clean + lower()
};

// UTF-8 → code points; invalid sequences become U+FFFD.
std::u32string utf8_to_u32(const std::string& utf8);
// Code points → UTF-8; values that are not scalar values are written as U+FFFD.
std::string u32_to_utf8(const std::u32string& text);
void append_utf8(char32_t c, std::string& out);

std::u32string normalize_nfc(const std::u32string& text);
std::u32string normalize_nfkc(const std::u32string& text);

// Python's str.lower(): full mapping of U+0130 and the Final_Sigma rule for U+03A3.
std::u32string python_lower(const std::u32string& text);

// Unicode White_Space, which is what \s matches in the tokenizer's regular expressions.
bool is_space(char32_t c);

// BasicTokenizer(do_lower_case=True, strip_accents=False, do_split_on_punc=False).tokenize
// joined by single spaces: drops control characters, U+0000 and U+FFFD, maps whitespace to
// ' ', isolates CJK ideographs, NFC-normalises, lower-cases.
std::u32string basic_clean(const std::u32string& text);

// Collapses every run of whitespace into one ' ' and trims both ends.
std::u32string whitespace_clean(const std::u32string& text);

std::u32string clean_text(const std::u32string& text, TextCleanup mode);

}  // namespace latent::text
