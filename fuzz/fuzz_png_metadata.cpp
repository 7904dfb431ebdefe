// Fuzzes what the gallery does with a PNG someone dropped into the output folder: the text
// chunks are read (tEXt, zTXt, iTXt), the web UI's `parameters` text is parsed and turned
// into a request and what it says of the run, and our own settings JSON is read back.
// None of it may crash or throw.
#include <cstdint>
#include <vector>

#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "core/image/settings_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace image = latent::image;
  const std::vector<unsigned char> bytes(data, data + size);
  for (const auto& [keyword, text] : image::read_png_text(bytes)) {
    if (keyword == image::kParametersChunk) {
      const auto parsed = image::parse_parameters(text);
      (void)parsed.to_result(latent::api::GenerationRequest{});
    } else if (keyword == image::kSettingsChunk) {
      image::ImageSettings settings;
      (void)image::settings_from_json(text, &settings);
    }
  }
  return 0;
}
