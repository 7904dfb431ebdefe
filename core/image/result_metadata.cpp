#include "core/image/result_metadata.h"

#include <string>

#include "core/image/parameters_text.h"
#include "core/image/settings_json.h"

namespace latent::image {

TextChunks result_metadata(const api::GenerationResult& result, std::size_t index, const api::LoadOptions& model) {
  const ImageSettings settings = image_settings(result, index, model);
  ParametersExtras extras = parameters_extras(result);
  if (result.request.size.batch_size > 1) {
    extras.more.push_back({"Batch size", std::to_string(result.request.size.batch_size)});
    extras.more.push_back({"Batch pos", std::to_string(index)});
  }
  return {{kParametersChunk, format_parameters(result.request, settings.seed, extras)},
          {kSettingsChunk, settings_to_json(settings)}};
}

}  // namespace latent::image
