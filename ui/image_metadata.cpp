#include "ui/image_metadata.h"

#include <QFileInfo>

#include <exception>

#include "core/image/parameters_text.h"
#include "core/image/settings_json.h"

namespace latent::ui {

// The same two chunks as the command-line tool writes (app/cli/command_generate.cpp), plus the
// web UI's batch fields when a run made several images.
image::TextChunks metadataChunks(const pipeline::GenerationResult& result, int index,
                                 const pipeline::LoadOptions& model) {
  const uint64_t seed = index < static_cast<int>(result.seeds.size()) ? result.seeds[index] : result.request.seed;
  image::ParametersExtras extras;
  extras.model_name = result.model_name;
  extras.model_hash = result.model_hash;
  if (!result.loras.empty()) extras.more.push_back({"Lora hashes", image::lora_hashes_text(result.loras)});
  if (result.request.batch_size > 1) {
    extras.more.push_back({"Batch size", std::to_string(result.request.batch_size)});
    extras.more.push_back({"Batch pos", std::to_string(index)});
  }
  image::ImageSettings settings;
  settings.request = result.request;
  settings.seed = seed;
  settings.model_name = result.model_name;
  settings.model_hash = result.model_hash;
  settings.model_path = model.model_path;
  settings.dtype = model.dtype;
  settings.device = model.device;
  settings.loras = result.loras;
  return {{image::kParametersChunk, image::format_parameters(result.request, seed, extras)},
          {image::kSettingsChunk, image::settings_to_json(settings)}};
}

RestoredSettings settingsFromParametersText(const QString& text, const pipeline::GenerationRequest& base) {
  RestoredSettings out;
  out.request = base;
  if (text.trimmed().isEmpty()) return out;
  try {
    const image::ParsedParameters parsed = image::parse_parameters(text.toStdString());
    out.request = parsed.to_request(base);
    // Other programs name their LoRAs in the prompt's <lora:...> tags, which the restored
    // prompt keeps: checking the form's LoRAs as well would apply them twice.
    out.request.loras.clear();
    out.modelName = QString::fromStdString(parsed.field("Model").value_or(""));
    out.parametersText = text;
    out.found = true;
  } catch (const std::exception&) {
    out.request = base;  // an unreadable text restores nothing
  }
  return out;
}

RestoredSettings settingsFromChunks(const image::TextChunks& chunks, const pipeline::GenerationRequest& base) {
  QString parameters;
  std::string json;
  for (const auto& [key, text] : chunks) {
    if (key == image::kParametersChunk) parameters = QString::fromStdString(text);
    if (key == image::kSettingsChunk) json = text;
  }
  image::ImageSettings settings;
  settings.request = base;
  settings.seed = base.seed;
  if (!json.empty() && image::settings_from_json(json, &settings)) {
    RestoredSettings out;
    out.found = true;
    out.request = settings.request;
    out.modelPath = QString::fromStdString(settings.model_path);
    out.modelName = QString::fromStdString(settings.model_name);
    out.parametersText = parameters;
    return out;
  }
  return settingsFromParametersText(parameters, base);
}

RestoredSettings readImageSettings(const QString& path, const pipeline::GenerationRequest& base) {
  if (!QFileInfo(path).isFile()) {
    RestoredSettings none;
    none.request = base;
    return none;
  }
  return settingsFromChunks(image::read_png_text_file(path.toStdString()), base);
}

}  // namespace latent::ui
