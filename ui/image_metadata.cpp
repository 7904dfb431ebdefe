#include "ui/image_metadata.h"

#include <QFileInfo>

#include <exception>

#include "core/image/foreign_metadata/webui_parameters.h"
#include "core/image/result_metadata.h"
#include "core/image/settings_json.h"

namespace latent::ui {

// The same chunks as the command-line tool writes.
image::TextChunks metadataChunks(const api::GenerationResult& result, int index,
                                 const api::LoadOptions& model) {
  return image::result_metadata(result, static_cast<std::size_t>(index), model);
}

namespace {

// The names an image gives of what made it: from our JSON (image::ImageSettings) or from
// another program's settings (api::GenerationResult), whose fields share these names.
template <typename Named>
void takeNames(const Named& from, RestoredSettings& out) {
  out.modelName = QString::fromStdString(from.model_name);
  out.refinerName = QString::fromStdString(from.refiner_name);
  out.vaeName = QString::fromStdString(from.vae_name);
  out.initImageHash = QString::fromStdString(from.init_image_hash);
  out.maskHash = QString::fromStdString(from.mask_hash);
}

// Our own JSON, with the parameters text shown beside it; found == false when `json` is not ours.
RestoredSettings settingsFromJson(const std::string& json, const QString& parameters, const api::GenerationRequest& base) {
  image::ImageSettings settings;
  settings.request = base;
  settings.seed = base.sampling.seed;
  RestoredSettings out;
  out.request = base;
  if (json.empty() || !image::settings_from_json(json, &settings)) return out;
  out.found = true;
  out.request = settings.request;
  out.modelPath = QString::fromStdString(settings.model_path);
  takeNames(settings, out);
  out.parametersText = parameters;
  return out;
}

}  // namespace

RestoredSettings settingsFromParametersText(const QString& text, const api::GenerationRequest& base) {
  RestoredSettings none;
  none.request = base;
  if (text.trimmed().isEmpty()) return none;
  try {
    return settingsFromMetadata(image::read_webui_parameters(text.toStdString(), "text"), base);
  } catch (const std::exception&) {
    return none;  // an unreadable text restores nothing
  }
}

RestoredSettings settingsFromChunks(const image::TextChunks& chunks, const api::GenerationRequest& base) {
  QString parameters;
  std::string json;
  for (const auto& [key, text] : chunks) {
    if (key == image::kParametersChunk) parameters = QString::fromStdString(text);
    if (key == image::kSettingsChunk) json = text;
  }
  RestoredSettings ours = settingsFromJson(json, parameters, base);
  return ours.found ? ours : settingsFromParametersText(parameters, base);
}

RestoredSettings settingsFromMetadata(const image::ImageMetadata& metadata, const api::GenerationRequest& base) {
  const QString text = QString::fromStdString(metadata.parameters_text());
  RestoredSettings out = settingsFromJson(metadata.settings_json, text, base);
  if (!out.found && metadata.found()) {
    // LoRAs come as the program names them: the web UI's in the prompt's <lora:...> tags,
    // which the restored prompt keeps, others' beside it (ImageMetadata::loras).
    const api::GenerationResult parsed = metadata.to_result(base);
    out.found = true;
    out.request = parsed.request;
    takeNames(parsed, out);
    out.parametersText = text;
  }
  if (!out.found) return out;
  out.source = QString::fromStdString(metadata.source_title());
  for (const auto& [name, value] : metadata.unmapped)
    out.unmapped << QString::fromStdString(name) + QStringLiteral(": ") + QString::fromStdString(value);
  return out;
}

RestoredSettings readImageSettings(const QString& path, const api::GenerationRequest& base) {
  try {
    if (QFileInfo(path).isFile()) return settingsFromMetadata(image::read_image_metadata_file(path.toStdString()), base);
  } catch (const std::exception&) {
    // not an image, or unreadable: nothing to restore
  }
  RestoredSettings none;
  none.request = base;
  return none;
}

}  // namespace latent::ui
