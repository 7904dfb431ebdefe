#pragma once

// A small approximation of ftfy.fix_text (ftfy 6, default settings), the clean-up most
// Stable Diffusion programs run on prompts before CLIP's BPE.

#include <string>

namespace latent::text {

// Line by line, repeated until nothing changes: HTML entities unescaped (skipped from
// the first line containing '<' on), common UTF-8-read-as-Windows-1252 mojibake repaired
// (Ã© → é, â€™ → ’), C1 controls read as Windows-1252, Latin ligatures split, full-width
// characters made ASCII, curly quotes straightened, line breaks unified, terminal
// escapes and control characters removed, NFC. Whitespace and case are left alone.
std::u32string ftfy_fix_text(const std::u32string& text);

// One pass of HTML entity unescaping the way ftfy does it (entities must end in ';').
std::u32string unescape_html_entities(const std::u32string& text);

}  // namespace latent::text
