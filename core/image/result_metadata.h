#pragma once

// The metadata saved with every generated picture, by the GUI and the command-line tool alike.

#include <cstddef>

#include "core/api/generation_result.h"
#include "core/api/load_options.h"
#include "core/image/png_metadata.h"

namespace latent::image {

// The text chunks of picture `index` of `result`, from a model opened with `model`: the web
// UI's `parameters` text (with its "Batch size" and "Batch pos" when the run made several)
// and our settings JSON (settings_json.h).
TextChunks result_metadata(const api::GenerationResult& result, std::size_t index, const api::LoadOptions& model);

}  // namespace latent::image
