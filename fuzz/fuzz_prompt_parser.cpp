// Fuzzes the prompt emphasis parser: any bytes either parse into pieces with finite weights
// within the limit, or are refused with latent::Error.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/text/prompt_parser.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace text = latent::text;
  const std::string prompt(reinterpret_cast<const char*>(data), size);
  try {
    const auto pieces = text::parse_prompt_attention(prompt);
    if (pieces.empty()) std::abort();
    for (const auto& piece : pieces)
      if (!std::isfinite(piece.weight) || std::abs(piece.weight) > text::kMaxPromptWeight) std::abort();
  } catch (const latent::Error&) {
  }
  return 0;
}
