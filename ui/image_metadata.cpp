#include "ui/image_metadata.h"

#include <QFileInfo>

#include <exception>

#include "core/image/parameters_text.h"
#include "core/image/settings_json.h"

namespace latent::ui {

// The same two chunks as the command-line tool writes (app/cli/command_generate.cpp), plus the
// web UI's batch fields when a run made several images.
image::TextChunks metadataChunks(const api::GenerationResult& result, int index,
                                 const api::LoadOptions& model) {
  const image::ImageSettings settings = image::image_settings(result, index, model);
  image::ParametersExtras extras = image::parameters_extras(result);
  if (result.request.size.batch_size > 1) {
    extras.more.push_back({"Batch size", std::to_string(result.request.size.batch_size)});
    extras.more.push_back({"Batch pos", std::to_string(index)});
  }
  return {{image::kParametersChunk, image::format_parameters(result.request, settings.seed, extras)},
          {image::kSettingsChunk, image::settings_to_json(settings)}};
}

RestoredSettings settingsFromParametersText(const QString& text, const api::GenerationRequest& base) {
  RestoredSettings out;
  out.request = base;
  if (text.trimmed().isEmpty()) return out;
  try {
    const api::GenerationResult parsed = image::parse_parameters(text.toStdString()).to_result(base);
    out.request = parsed.request;
    // Other programs name their LoRAs in the prompt's <lora:...> tags, which the restored
    // prompt keeps: checking the form's LoRAs as well would apply them twice.
    out.request.loras.adapters.clear();
    out.modelName = QString::fromStdString(parsed.model_name);
    out.refinerName = QString::fromStdString(parsed.refiner_name);
    out.vaeName = QString::fromStdString(parsed.vae_name);
    out.initImageHash = QString::fromStdString(parsed.init_image_hash);
    out.maskHash = QString::fromStdString(parsed.mask_hash);
    out.parametersText = text;
    out.found = true;
  } catch (const std::exception&) {
    out.request = base;  // an unreadable text restores nothing
  }
  return out;
}

RestoredSettings settingsFromChunks(const image::TextChunks& chunks, const api::GenerationRequest& base) {
  QString parameters;
  std::string json;
  for (const auto& [key, text] : chunks) {
    if (key == image::kParametersChunk) parameters = QString::fromStdString(text);
    if (key == image::kSettingsChunk) json = text;
  }
  image::ImageSettings settings;
  settings.request = base;
  settings.seed = base.sampling.seed;
  if (!json.empty() && image::settings_from_json(json, &settings)) {
    RestoredSettings out;
    out.found = true;
    out.request = settings.request;
    out.modelPath = QString::fromStdString(settings.model_path);
    out.modelName = QString::fromStdString(settings.model_name);
    out.refinerName = QString::fromStdString(settings.refiner_name);
    out.vaeName = QString::fromStdString(settings.vae_name);
    out.initImageHash = QString::fromStdString(settings.init_image_hash);
    out.maskHash = QString::fromStdString(settings.mask_hash);
    out.parametersText = parameters;
    return out;
  }
  return settingsFromParametersText(parameters, base);
}

RestoredSettings readImageSettings(const QString& path, const api::GenerationRequest& base) {
  if (!QFileInfo(path).isFile()) {
    RestoredSettings none;
    none.request = base;
    return none;
  }
  return settingsFromChunks(image::read_png_text_file(path.toStdString()), base);
}

}  // namespace latent::ui
