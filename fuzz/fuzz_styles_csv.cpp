// Fuzzes the styles.csv reader: any bytes give styles or latent::Error; the styles written
// back read as the same styles, and applying all of them to a prompt works.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/text/prompt_styles.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace text = latent::text;
  const std::string csv(reinterpret_cast<const char*>(data), size);
  try {
    const auto styles = text::parse_styles_csv(csv);
    if (!(text::parse_styles_csv(text::styles_csv(styles)) == styles)) std::abort();
    std::vector<std::string> names;
    for (const auto& style : styles) names.push_back(style.name);
    (void)text::apply_styles("a {prompt}", "", styles, names);
  } catch (const latent::Error&) {
  }
  return 0;
}
