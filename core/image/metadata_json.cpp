#include "core/image/metadata_json.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <functional>

namespace latent::image {
namespace {

// One of our settings and the web UI field it is read from.
struct Setting {
  const char* field;
  const char* name;
  std::function<QJsonValue(const api::GenerationResult&)> value;
};

QString text(const std::string& value) { return QString::fromStdString(value); }

const std::vector<Setting>& settings_table() {
  static const std::vector<Setting> table = {
      {"Steps", "steps", [](const api::GenerationResult& r) { return QJsonValue(r.request.sampling.steps); }},
      {"Sampler", "sampler", [](const api::GenerationResult& r) { return QJsonValue(text(r.request.sampling.sampler)); }},
      {"CFG scale", "guidance_scale", [](const api::GenerationResult& r) { return QJsonValue(r.request.sampling.guidance_scale); }},
      {"Seed", "seed", [](const api::GenerationResult& r) { return QJsonValue(QString::number(r.request.sampling.seed)); }},
      {"Size", "width", [](const api::GenerationResult& r) { return QJsonValue(r.request.size.width); }},
      {"Size", "height", [](const api::GenerationResult& r) { return QJsonValue(r.request.size.height); }},
      {"Clip skip", "clip_skip", [](const api::GenerationResult& r) { return QJsonValue(r.request.sampling.clip_skip); }},
      {"Eta", "eta", [](const api::GenerationResult& r) { return QJsonValue(r.request.sampling.eta); }},
      {"CFG Rescale", "guidance_rescale", [](const api::GenerationResult& r) { return QJsonValue(r.request.sampling.guidance_rescale); }},
      {"Timestep Spacing", "timestep_spacing", [](const api::GenerationResult& r) { return QJsonValue(text(r.request.sampling.timestep_spacing)); }},
      {"Noise Schedule", "zero_snr", [](const api::GenerationResult& r) { return QJsonValue(r.request.sampling.zero_snr); }},
      {"Step cache", "step_cache", [](const api::GenerationResult& r) { return QJsonValue(r.request.sampling.step_cache); }},
      {"TCD gamma", "tcd_gamma", [](const api::GenerationResult& r) { return QJsonValue(r.request.sampling.tcd_gamma); }},
      {"LCM original steps", "lcm_original_steps", [](const api::GenerationResult& r) { return QJsonValue(r.request.sampling.lcm_original_steps); }},
      {"Model", "model", [](const api::GenerationResult& r) { return QJsonValue(text(r.model_name)); }},
      {"Model hash", "model_hash", [](const api::GenerationResult& r) { return QJsonValue(text(r.model_hash)); }},
      {"VAE", "vae", [](const api::GenerationResult& r) { return QJsonValue(text(r.vae_name)); }},
      {"Refiner", "refiner", [](const api::GenerationResult& r) { return QJsonValue(text(r.refiner_name)); }},
      {"Refiner switch at", "refiner_switch_at", [](const api::GenerationResult& r) { return QJsonValue(r.request.refiner.switch_at); }},
      {"Denoising strength", "denoising_strength", [](const api::GenerationResult& r) { return QJsonValue(r.request.init.strength); }},
  };
  return table;
}

// A request whose every setting in the table differs from the default's: a value the file
// sets is the same over both, one it only names (unreadable) follows the base.
api::GenerationRequest other_base() {
  api::GenerationRequest r;
  r.sampling.steps += 1;
  r.sampling.sampler = r.sampling.sampler == "ddim" ? "euler" : "ddim";
  r.sampling.guidance_scale += 1;
  r.sampling.seed += 1;
  r.size.width += 8;
  r.size.height += 8;
  r.sampling.eta += 0.5;
  r.sampling.tcd_gamma += 0.1;
  r.refiner.switch_at -= 0.1;
  r.init.strength -= 0.1;
  return r;
}

QJsonObject settings_json_of(const ImageMetadata& meta) {
  const api::GenerationRequest defaults;
  const api::GenerationResult a = meta.to_result(defaults);
  const api::GenerationResult b = meta.to_result(other_base());
  QJsonObject settings;
  settings["prompt"] = text(meta.parameters.prompt);
  settings["negative_prompt"] = text(meta.parameters.negative_prompt);
  if (!meta.prompt_2.empty()) settings["prompt_2"] = text(meta.prompt_2);
  if (!meta.negative_prompt_2.empty()) settings["negative_prompt_2"] = text(meta.negative_prompt_2);
  for (const Setting& setting : settings_table()) {
    if (!meta.parameters.field(setting.field)) continue;
    const QJsonValue value = setting.value(a);
    if (value == setting.value(b)) settings[setting.name] = value;
  }
  if (!meta.loras.empty()) {
    QJsonArray loras;
    for (const api::LoraSpec& lora : meta.loras)
      loras.append(QJsonObject{{"name", QFileInfo(text(lora.path)).completeBaseName()}, {"multiplier", lora.multiplier}});
    settings["loras"] = loras;
  }
  return settings;
}

}  // namespace

QJsonObject metadata_to_json(const ImageMetadata& meta) {
  QJsonObject out;
  out["format"] = image_format_name(meta.format);
  out["source"] = meta.found() ? QJsonValue(text(meta.source)) : QJsonValue(QJsonValue::Null);
  QJsonArray unmapped;
  for (const auto& [name, value] : meta.unmapped) unmapped.append(QJsonObject{{"name", text(name)}, {"value", text(value)}});
  out["unmapped"] = unmapped;
  if (!meta.found()) {
    out["settings"] = QJsonObject();
    return out;
  }
  if (!meta.version.empty()) out["version"] = text(meta.version);
  out["location"] = text(meta.location);
  out["settings"] = settings_json_of(meta);
  out["parameters"] = text(meta.parameters_text());
  if (!meta.settings_json.empty()) {
    const QJsonDocument ours = QJsonDocument::fromJson(QByteArray::fromStdString(meta.settings_json));
    if (ours.isObject()) out["latentstudio"] = ours.object();
  }
  return out;
}

}  // namespace latent::image
