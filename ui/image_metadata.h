#pragma once

// What an image file says about how it was made: our own `latentstudio` JSON chunk
// (every setting, the model's path included; see core/image/settings_json.h) and the
// `parameters` text that other Stable Diffusion programs write and read.

#include <QString>

#include "core/image/png_metadata.h"
#include "core/pipeline/generation_request.h"

namespace latent::ui {

// The settings an image can restore into the form.
struct RestoredSettings {
  bool found = false;       // the file carried our JSON or a readable parameters text
  pipeline::GenerationRequest request;
  QString modelPath;        // known only from our own JSON
  QString modelName;        // file or folder name, from either chunk
  QString parametersText;   // the human-readable parameters chunk
};

// The text chunks saved with image `index` of `result`.
image::TextChunks metadataChunks(const pipeline::GenerationResult& result, int index,
                                 const pipeline::LoadOptions& model);

// Settings from text chunks; fields they lack keep the values of `base`.
RestoredSettings settingsFromChunks(const image::TextChunks& chunks, const pipeline::GenerationRequest& base);
RestoredSettings settingsFromParametersText(const QString& text, const pipeline::GenerationRequest& base);
// Reads a file; anything unreadable yields `found == false`, never an exception.
RestoredSettings readImageSettings(const QString& path, const pipeline::GenerationRequest& base);

}  // namespace latent::ui
