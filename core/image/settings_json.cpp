#include "core/image/settings_json.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace latent::image {
namespace {

// Version 1, the JSON written before "settings_version" existed, counted clip_skip as
// diffusers does (0 = the text encoder's last layer). Version 2 counts it as the web UI
// and api::SamplingSettings do (1 = the last layer); older files are converted on reading.
constexpr int kSettingsVersion = 2;

}  // namespace

ImageSettings image_settings(const api::GenerationResult& result, std::size_t index,
                             const api::LoadOptions& model) {
  ImageSettings settings;
  settings.request = result.request;
  settings.seed = result.seed_of(index);
  settings.model_name = result.model_name;
  settings.model_hash = result.model_hash;
  settings.model_path = model.model_path;
  settings.dtype = model.dtype;
  settings.device = model.device;
  settings.loras = result.loras;
  settings.init_image_hash = result.init_image_hash;
  settings.mask_hash = result.mask_hash;
  settings.refiner_name = result.refiner_name;
  settings.refiner_hash = result.refiner_hash;
  settings.vae_name = result.vae_name;
  settings.vae_hash = result.vae_hash;
  settings.weights = result.weights;
  return settings;
}

std::string settings_to_json(const ImageSettings& s) {
  const auto& r = s.request;
  const auto& sampling = r.sampling;
  QJsonObject o;
  o["program"] = QString("Latent Studio ") + LATENT_VERSION;
  o["settings_version"] = kSettingsVersion;
  o["prompt"] = QString::fromStdString(r.prompt);
  o["negative_prompt"] = QString::fromStdString(r.negative_prompt);
  o["prompt_2"] = QString::fromStdString(r.prompt_2);
  o["negative_prompt_2"] = QString::fromStdString(r.negative_prompt_2);
  o["width"] = r.size.width;
  o["height"] = r.size.height;
  o["steps"] = sampling.steps;
  o["guidance_scale"] = sampling.guidance_scale;
  o["guidance_rescale"] = sampling.guidance_rescale;
  o["timestep_spacing"] = QString::fromStdString(sampling.timestep_spacing);
  o["zero_snr"] = sampling.zero_snr;
  o["step_cache"] = sampling.step_cache;
  // Seeds are 64-bit; JSON numbers are doubles, so keep the exact value as text.
  o["seed"] = QString::number(s.seed);
  o["sampler"] = QString::fromStdString(sampling.sampler);
  o["batch_size"] = r.size.batch_size;
  o["clip_skip"] = sampling.clip_skip;
  o["eta"] = sampling.eta;
  o["lcm_original_steps"] = sampling.lcm_original_steps;
  o["tcd_gamma"] = sampling.tcd_gamma;
  o["model"] = QString::fromStdString(s.model_name);
  o["model_hash"] = QString::fromStdString(s.model_hash);
  o["model_path"] = QString::fromStdString(s.model_path);
  o["dtype"] = QString::fromStdString(s.dtype);
  o["device"] = QString::fromStdString(s.device);
  if (!s.weights.empty()) o["weights"] = QString::fromStdString(s.weights);
  o["rng"] = "cpu";
  QJsonArray loras;
  auto add_lora = [&](const api::AppliedLora& lora) {
    QJsonObject entry;
    entry["name"] = QString::fromStdString(lora.name);
    entry["path"] = QString::fromStdString(lora.path);
    entry["multiplier"] = lora.multiplier;
    if (!lora.hash.empty()) entry["hash"] = QString::fromStdString(lora.hash);
    if (lora.from_prompt) entry["from_prompt"] = true;
    loras.append(entry);
  };
  for (const auto& lora : s.loras) add_lora(lora);
  if (s.loras.empty())
    for (const auto& spec : r.loras.adapters)
      add_lora({QFileInfo(QString::fromStdString(spec.path)).completeBaseName().toStdString(), spec.path,
                spec.multiplier, "", false, ""});
  o["loras"] = loras;
  if (r.loras.allow_partial) o["lora_partial"] = true;
  const api::SdxlConditioning& sdxl = r.sdxl;
  o["sdxl"] = QJsonObject{{"original_width", sdxl.original_width},
                          {"original_height", sdxl.original_height},
                          {"crop_left", sdxl.crop_left},
                          {"crop_top", sdxl.crop_top},
                          {"target_width", sdxl.target_width},
                          {"target_height", sdxl.target_height},
                          {"aesthetic_score", sdxl.aesthetic_score},
                          {"negative_aesthetic_score", sdxl.negative_aesthetic_score}};
  if (r.refiner.given() || !s.refiner_name.empty()) {
    QJsonObject refiner{{"path", QString::fromStdString(r.refiner.path)},
                        {"switch_at", r.refiner.switch_at}};
    if (!s.refiner_name.empty()) refiner["name"] = QString::fromStdString(s.refiner_name);
    if (!s.refiner_hash.empty()) refiner["hash"] = QString::fromStdString(s.refiner_hash);
    o["refiner"] = refiner;
  }
  if (!r.vae.empty() || !s.vae_name.empty()) {
    QJsonObject vae{{"path", QString::fromStdString(r.vae)}};
    if (!s.vae_name.empty()) vae["name"] = QString::fromStdString(s.vae_name);
    if (!s.vae_hash.empty()) vae["hash"] = QString::fromStdString(s.vae_hash);
    o["vae"] = vae;
  }
  if (r.second_pass.enabled) {
    const api::SecondPass& pass = r.second_pass;
    o["hires"] = QJsonObject{{"scale", pass.scale},
                             {"width", pass.width},
                             {"height", pass.height},
                             {"upscaler", QString::fromStdString(pass.upscaler)},
                             {"steps", pass.steps},
                             {"denoising_strength", pass.denoising_strength},
                             {"sampler", QString::fromStdString(pass.sampler)},
                             {"prompt", QString::fromStdString(pass.prompt)},
                             {"negative_prompt", QString::fromStdString(pass.negative_prompt)}};
  }
  if (!r.control_units.empty()) {
    QJsonArray units;
    for (const api::ControlUnit& unit : r.control_units)
      units.append(QJsonObject{{"model", QString::fromStdString(unit.model_path)},
                               {"image", QString::fromStdString(unit.image_path)},
                               {"preprocessor", QString::fromStdString(unit.preprocessor)},
                               {"threshold_a", unit.threshold_a},
                               {"threshold_b", unit.threshold_b},
                               {"resize_mode", QString::fromStdString(unit.resize_mode)},
                               {"weight", unit.weight},
                               {"guidance_start", unit.guidance_start},
                               {"guidance_end", unit.guidance_end},
                               {"enabled", unit.enabled}});
    o["controlnet"] = QJsonObject{{"units", units}, {"guess_mode", r.control_guess_mode}};
  }
  if (api::has_init_image(r) || !s.init_image_hash.empty()) {
    o["init_image"] = QString::fromStdString(r.init.path);
    o["init_image_hash"] = QString::fromStdString(s.init_image_hash);
    o["strength"] = r.init.strength;
    o["resize_mode"] = QString::fromStdString(r.init.resize_mode);
    if (r.mask.given() || !s.mask_hash.empty()) {
      o["mask_image"] = QString::fromStdString(r.mask.path);
      o["mask_hash"] = QString::fromStdString(s.mask_hash);
      o["mask_blur"] = r.mask.blur;
      o["inpaint_full_res"] = r.mask.only_masked;
      o["inpaint_full_res_padding"] = r.mask.only_masked_padding;
    }
    if (r.outpaint.any())
      o["outpaint"] = QJsonArray{r.outpaint.left, r.outpaint.top, r.outpaint.right, r.outpaint.bottom};
  }
  return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
}

bool settings_from_json(const std::string& json, ImageSettings* s) {
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json));
  if (!doc.isObject()) return false;
  const QJsonObject o = doc.object();
  if (!o.value("program").toString().startsWith("Latent Studio")) return false;
  const int version = o.value("settings_version").toInt(1);
  auto& r = s->request;
  auto& sampling = r.sampling;
  r.prompt = o.value("prompt").toString(QString::fromStdString(r.prompt)).toStdString();
  r.negative_prompt = o.value("negative_prompt").toString(QString::fromStdString(r.negative_prompt)).toStdString();
  // Absent from images written before these existed, which had them at their defaults.
  const api::GenerationRequest defaults;
  r.prompt_2 = o.value("prompt_2").toString().toStdString();
  r.negative_prompt_2 = o.value("negative_prompt_2").toString().toStdString();
  r.size.width = o.value("width").toInt(r.size.width);
  r.size.height = o.value("height").toInt(r.size.height);
  sampling.steps = o.value("steps").toInt(sampling.steps);
  sampling.guidance_scale = o.value("guidance_scale").toDouble(sampling.guidance_scale);
  sampling.guidance_rescale = o.value("guidance_rescale").toDouble(defaults.sampling.guidance_rescale);
  sampling.timestep_spacing =
      o.value("timestep_spacing").toString(QString::fromStdString(defaults.sampling.timestep_spacing)).toStdString();
  sampling.zero_snr = o.value("zero_snr").toBool(defaults.sampling.zero_snr);
  const int step_cache = o.value("step_cache").toInt(defaults.sampling.step_cache);
  sampling.step_cache = step_cache >= 1 && step_cache <= 1000 ? step_cache : defaults.sampling.step_cache;
  bool ok = false;
  const qulonglong seed = o.value("seed").toString().toULongLong(&ok);
  if (ok) s->seed = seed;
  sampling.seed = s->seed;
  sampling.sampler = o.value("sampler").toString(QString::fromStdString(sampling.sampler)).toStdString();
  r.size.batch_size = o.value("batch_size").toInt(r.size.batch_size);
  if (o.value("clip_skip").isDouble())
    sampling.clip_skip = o.value("clip_skip").toInt() + (version < 2 ? 1 : 0);
  sampling.eta = o.value("eta").toDouble(sampling.eta);
  sampling.lcm_original_steps = o.value("lcm_original_steps").toInt(defaults.sampling.lcm_original_steps);
  sampling.tcd_gamma = o.value("tcd_gamma").toDouble(defaults.sampling.tcd_gamma);
  s->model_name = o.value("model").toString().toStdString();
  s->model_hash = o.value("model_hash").toString().toStdString();
  s->model_path = o.value("model_path").toString().toStdString();
  s->dtype = o.value("dtype").toString().toStdString();
  s->device = o.value("device").toString().toStdString();
  s->weights = o.value("weights").toString().toStdString();
  if (o.value("loras").isArray()) {
    s->loras.clear();
    r.loras.adapters.clear();
    for (const QJsonValue& value : o.value("loras").toArray()) {
      const QJsonObject entry = value.toObject();
      api::AppliedLora lora;
      lora.name = entry.value("name").toString().toStdString();
      lora.path = entry.value("path").toString().toStdString();
      lora.multiplier = entry.value("multiplier").toDouble(1.0);
      lora.hash = entry.value("hash").toString().toStdString();
      lora.from_prompt = entry.value("from_prompt").toBool(false);
      if (lora.path.empty() && lora.name.empty()) continue;
      if (!lora.from_prompt)
        r.loras.adapters.push_back({lora.path.empty() ? lora.name : lora.path, lora.multiplier});
      s->loras.push_back(std::move(lora));
    }
    r.loras.allow_partial = o.value("lora_partial").toBool(false);
  }
  const QJsonObject sdxl = o.value("sdxl").toObject();
  const api::SdxlConditioning& d = defaults.sdxl;
  r.sdxl.original_width = sdxl.value("original_width").toInt(d.original_width);
  r.sdxl.original_height = sdxl.value("original_height").toInt(d.original_height);
  r.sdxl.crop_left = sdxl.value("crop_left").toInt(d.crop_left);
  r.sdxl.crop_top = sdxl.value("crop_top").toInt(d.crop_top);
  r.sdxl.target_width = sdxl.value("target_width").toInt(d.target_width);
  r.sdxl.target_height = sdxl.value("target_height").toInt(d.target_height);
  r.sdxl.aesthetic_score = sdxl.value("aesthetic_score").toDouble(d.aesthetic_score);
  r.sdxl.negative_aesthetic_score = sdxl.value("negative_aesthetic_score").toDouble(d.negative_aesthetic_score);
  const QJsonObject refiner = o.value("refiner").toObject();
  r.refiner.path = refiner.value("path").toString().toStdString();
  r.refiner.switch_at = refiner.value("switch_at").toDouble(defaults.refiner.switch_at);
  s->refiner_name = refiner.value("name").toString().toStdString();
  s->refiner_hash = refiner.value("hash").toString().toStdString();
  const QJsonObject hires = o.value("hires").toObject();
  const api::SecondPass pass_defaults;
  r.second_pass.enabled = !hires.isEmpty();
  r.second_pass.scale = hires.value("scale").toDouble(pass_defaults.scale);
  r.second_pass.width = hires.value("width").toInt(pass_defaults.width);
  r.second_pass.height = hires.value("height").toInt(pass_defaults.height);
  r.second_pass.upscaler = hires.value("upscaler").toString(QString::fromStdString(pass_defaults.upscaler)).toStdString();
  r.second_pass.steps = hires.value("steps").toInt(pass_defaults.steps);
  r.second_pass.denoising_strength = hires.value("denoising_strength").toDouble(pass_defaults.denoising_strength);
  r.second_pass.sampler = hires.value("sampler").toString().toStdString();
  r.second_pass.prompt = hires.value("prompt").toString().toStdString();
  r.second_pass.negative_prompt = hires.value("negative_prompt").toString().toStdString();
  // ControlNet units: their files by path (the pictures are not in the PNG, only named).
  const QJsonObject controlnet = o.value("controlnet").toObject();
  r.control_units.clear();
  r.control_guess_mode = controlnet.value("guess_mode").toBool(false);
  for (const QJsonValue& value : controlnet.value("units").toArray()) {
    const QJsonObject u = value.toObject();
    const api::ControlUnit d;
    api::ControlUnit unit;
    unit.model_path = u.value("model").toString().toStdString();
    unit.image_path = u.value("image").toString().toStdString();
    unit.preprocessor = u.value("preprocessor").toString(QString::fromStdString(d.preprocessor)).toStdString();
    unit.threshold_a = u.value("threshold_a").toDouble(d.threshold_a);
    unit.threshold_b = u.value("threshold_b").toDouble(d.threshold_b);
    unit.resize_mode = u.value("resize_mode").toString(QString::fromStdString(d.resize_mode)).toStdString();
    unit.weight = u.value("weight").toDouble(d.weight);
    unit.guidance_start = u.value("guidance_start").toDouble(d.guidance_start);
    unit.guidance_end = u.value("guidance_end").toDouble(d.guidance_end);
    unit.enabled = u.value("enabled").toBool(d.enabled);
    r.control_units.push_back(unit);
  }
  const QJsonObject vae = o.value("vae").toObject();
  r.vae = vae.value("path").toString().toStdString();
  s->vae_name = vae.value("name").toString().toStdString();
  s->vae_hash = vae.value("hash").toString().toStdString();
  r.init.path = o.value("init_image").toString(QString::fromStdString(r.init.path)).toStdString();
  s->init_image_hash = o.value("init_image_hash").toString(QString::fromStdString(s->init_image_hash)).toStdString();
  r.init.strength = o.value("strength").toDouble(r.init.strength);
  r.init.resize_mode = o.value("resize_mode").toString(QString::fromStdString(r.init.resize_mode)).toStdString();
  r.mask.path = o.value("mask_image").toString(QString::fromStdString(r.mask.path)).toStdString();
  s->mask_hash = o.value("mask_hash").toString(QString::fromStdString(s->mask_hash)).toStdString();
  r.mask.blur = o.value("mask_blur").toInt(r.mask.blur);
  r.mask.only_masked = o.value("inpaint_full_res").toBool(r.mask.only_masked);
  r.mask.only_masked_padding = o.value("inpaint_full_res_padding").toInt(r.mask.only_masked_padding);
  if (o.value("outpaint").isArray() && o.value("outpaint").toArray().size() == 4) {
    const QJsonArray sides = o.value("outpaint").toArray();
    r.outpaint = {sides.at(0).toInt(), sides.at(1).toInt(), sides.at(2).toInt(), sides.at(3).toInt()};
  }
  return true;
}

}  // namespace latent::image
