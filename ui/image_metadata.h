#pragma once

// What an image file says about how it was made: our own `latentstudio` JSON chunk
// (every setting, the model's path included; see core/image/settings_json.h), the
// `parameters` text that other Stable Diffusion programs write and read, and the settings
// of other programs' own formats (core/image/file_metadata.h).

#include <QString>
#include <QStringList>

#include "core/image/file_metadata.h"
#include "core/image/png_metadata.h"
#include "core/api/generation_request.h"
#include "core/api/generation_result.h"
#include "core/api/load_options.h"

namespace latent::ui {

// The settings an image can restore into the form.
struct RestoredSettings {
  bool found = false;       // the file carried our JSON or a readable parameters text
  api::GenerationRequest request;
  QString modelPath;        // known only from our own JSON
  QString modelName;        // file or folder name, from either chunk
  QString refinerName;      // the SDXL refiner's file or folder name; empty without one
  QString vaeName;          // the VAE's when it was not the model's own; empty otherwise
  // Hashes of the starting picture and of the mask the image was made from (the pictures
  // themselves are not in the file); empty for text to image.
  QString initImageHash;
  QString maskHash;
  QString parametersText;   // the human-readable parameters chunk
  // The program that wrote the settings ("ComfyUI", "AUTOMATIC1111 web UI v1.9.4"); empty
  // when unknown (a pasted text).
  QString source;
  // What the file says that has no counterpart here, as "name: value" (a ComfyUI scheduler
  // we lack, Fooocus's sharpness, ...): restoring leaves these out.
  QStringList unmapped;
};

// The text chunks saved with image `index` of `result`.
image::TextChunks metadataChunks(const api::GenerationResult& result, int index,
                                 const api::LoadOptions& model);

// Settings from text chunks; fields they lack keep the values of `base`.
RestoredSettings settingsFromChunks(const image::TextChunks& chunks, const api::GenerationRequest& base);
RestoredSettings settingsFromParametersText(const QString& text, const api::GenerationRequest& base);
// Settings from what a file says (core/image/file_metadata.h): ours from our JSON, other
// programs' as far as they map.
RestoredSettings settingsFromMetadata(const image::ImageMetadata& metadata, const api::GenerationRequest& base);
// Reads a PNG, JPEG or WebP file written by Latent Studio, the web UI, ComfyUI, InvokeAI,
// Fooocus or NovelAI; anything unreadable yields `found == false`, never an exception.
RestoredSettings readImageSettings(const QString& path, const api::GenerationRequest& base);

}  // namespace latent::ui
