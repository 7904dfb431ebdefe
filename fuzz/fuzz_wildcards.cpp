// Fuzzes wildcard expansion: the input is a prompt, a NUL, then a wildcard file's text that
// every `__name__` reads (so wildcards nest in it). Expansion ends with a prompt within the
// size limit, or latent::Error (a chain too deep, no options).
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include "core/text/prompt_parser.h"
#include "core/text/wildcards.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace text = latent::text;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  const std::string prompt = input.substr(0, split);
  const auto options = text::parse_wildcard_options(split == std::string::npos ? "" : input.substr(split + 1));
  const text::WildcardSource source = [&options](const std::string&) -> const std::vector<std::string>& {
    return options;
  };
  std::mt19937_64 generator(size);
  try {
    const std::string out = text::expand_wildcards(prompt, source, generator);
    if (out.size() > text::kMaxPromptBytes + 4 * 1024 * 1024) std::abort();
  } catch (const latent::Error&) {
  }
  return 0;
}
