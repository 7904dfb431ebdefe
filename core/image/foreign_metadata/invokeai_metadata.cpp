#include "core/image/foreign_metadata/invokeai_metadata.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include "core/image/foreign_metadata/metadata_fields.h"

namespace latent::image {
namespace {

QJsonObject object_of(const std::string& json) {
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json));
  return doc.isObject() ? doc.object() : QJsonObject();
}

// A model field: {"name": ...} (4.x), {"model_name": ...} (3.x), or a plain name.
std::string model_name(const QJsonValue& model) {
  if (model.isString()) return foreign::model_stem(model.toString().toStdString());
  const QJsonObject o = model.toObject();
  return foreign::model_stem(o.value(QStringLiteral("name")).toString(o.value(QStringLiteral("model_name")).toString()).toStdString());
}

void read_loras(const QJsonArray& loras, ImageMetadata& meta) {
  for (const QJsonValue& value : loras) {
    const QJsonObject entry = value.toObject();
    const QJsonValue model = entry.contains(QStringLiteral("model")) ? entry.value(QStringLiteral("model"))
                                                                     : entry.value(QStringLiteral("lora"));
    foreign::add_lora(meta, model_name(model), entry.value(QStringLiteral("weight")).toDouble(1.0));
  }
}

// InvokeAI 2.x kept the negative prompt inside the prompt, in square brackets.
std::pair<std::string, std::string> split_bracketed(const QString& text) {
  QString positive, negative;
  int depth = 0;
  for (const QChar c : text) {
    if (c == '[' && depth++ == 0) {
      if (!negative.isEmpty()) negative += QStringLiteral(", ");
      continue;
    }
    if (c == ']' && depth > 0 && --depth == 0) continue;
    (depth > 0 ? negative : positive) += c;
  }
  return {positive.simplified().toStdString(), negative.simplified().toStdString()};
}

}  // namespace

ImageMetadata read_invokeai_metadata(const std::string& json, const std::string& location) {
  const QJsonObject o = object_of(json);
  if (o.isEmpty()) return {};
  ImageMetadata meta;
  meta.source = "InvokeAI";
  meta.location = location;
  meta.version = o.value(QStringLiteral("app_version")).toString().toStdString();
  meta.parameters.prompt = o.value(QStringLiteral("positive_prompt")).toString().toStdString();
  meta.parameters.negative_prompt = o.value(QStringLiteral("negative_prompt")).toString().toStdString();
  // SDXL: the style prompts go to the second text encoder; the same text when InvokeAI
  // concatenated them.
  const std::string style = o.value(QStringLiteral("positive_style_prompt")).toString().toStdString();
  const std::string negative_style = o.value(QStringLiteral("negative_style_prompt")).toString().toStdString();
  if (style != meta.parameters.prompt) meta.prompt_2 = style;
  if (negative_style != meta.parameters.negative_prompt) meta.negative_prompt_2 = negative_style;
  foreign::set_field(meta, "Steps", foreign::json_text(o.value(QStringLiteral("steps"))));
  const std::string scheduler = o.value(QStringLiteral("scheduler")).toString().toStdString();
  foreign::set_sampler(meta, sampler_from_invokeai(scheduler), "scheduler", scheduler, "scheduler");
  foreign::set_field(meta, "CFG scale", foreign::json_text(o.value(QStringLiteral("cfg_scale"))));
  if (o.value(QStringLiteral("cfg_rescale_multiplier")).toDouble() > 0)
    foreign::set_field(meta, "CFG Rescale", foreign::json_text(o.value(QStringLiteral("cfg_rescale_multiplier"))));
  foreign::set_field(meta, "Seed", foreign::json_text(o.value(QStringLiteral("seed"))));
  foreign::set_size(meta, o.value(QStringLiteral("width")), o.value(QStringLiteral("height")));
  if (o.value(QStringLiteral("clip_skip")).isDouble())
    foreign::set_field(meta, "Clip skip", std::to_string(o.value(QStringLiteral("clip_skip")).toInt() + 1));
  foreign::set_field(meta, "Model", model_name(o.value(QStringLiteral("model"))));
  foreign::set_field(meta, "VAE", model_name(o.value(QStringLiteral("vae"))));
  if (const std::string refiner = model_name(o.value(QStringLiteral("refiner_model"))); !refiner.empty()) {
    foreign::set_field(meta, "Refiner", refiner);
    foreign::set_field(meta, "Refiner switch at", foreign::json_text(o.value(QStringLiteral("refiner_start"))));
  }
  read_loras(o.value(QStringLiteral("loras")).toArray(), meta);
  // Noise drawn on the GPU gives another picture from the same seed.
  if (const QString device = o.value(QStringLiteral("rand_device")).toString(); !device.isEmpty() && device != QStringLiteral("cpu"))
    foreign::add_unmapped(meta, "rand_device", device);
  const QString mode = o.value(QStringLiteral("generation_mode")).toString();
  const bool text_to_image = mode.isEmpty() || mode.endsWith(QStringLiteral("txt2img"));
  foreign::set_aside_others(
      meta, o,
      {"app_version", "positive_prompt", "negative_prompt", "positive_style_prompt", "negative_style_prompt", "steps",
       "scheduler", "cfg_scale", "cfg_rescale_multiplier", "seed", "width", "height", "clip_skip", "model", "vae",
       "refiner_model", "refiner_start", "loras", "rand_device", text_to_image ? "generation_mode" : "", "created_by"});
  foreign::order_fields(meta);
  return meta;
}

ImageMetadata read_invokeai_sd_metadata(const std::string& json, const std::string& location) {
  const QJsonObject o = object_of(json);
  const QJsonObject image = o.value(QStringLiteral("image")).toObject();
  if (image.isEmpty()) return {};
  ImageMetadata meta;
  meta.source = "InvokeAI";
  meta.location = location;
  meta.version = o.value(QStringLiteral("app_version")).toString().toStdString();
  const QJsonValue prompt = image.value(QStringLiteral("prompt"));
  const QString text = prompt.isArray() ? prompt.toArray().at(0).toObject().value(QStringLiteral("prompt")).toString()
                                        : prompt.toString();
  const auto [positive, negative] = split_bracketed(text);
  meta.parameters.prompt = positive;
  meta.parameters.negative_prompt = negative;
  foreign::set_field(meta, "Steps", foreign::json_text(image.value(QStringLiteral("steps"))));
  const std::string sampler = image.value(QStringLiteral("sampler")).toString().toStdString();
  foreign::set_sampler(meta, sampler_from_novelai(sampler, ""), "sampler", sampler, "sampler");
  foreign::set_field(meta, "CFG scale", foreign::json_text(image.value(QStringLiteral("cfg_scale"))));
  foreign::set_field(meta, "Seed", foreign::json_text(image.value(QStringLiteral("seed"))));
  foreign::set_size(meta, image.value(QStringLiteral("width")), image.value(QStringLiteral("height")));
  foreign::set_field(meta, "Model", foreign::model_stem(o.value(QStringLiteral("model_weights")).toString().toStdString()));
  // The web UI's model hash is the first 10 hex digits of the file's SHA-256, as this one's.
  foreign::set_field(meta, "Model hash", o.value(QStringLiteral("model_hash")).toString().left(10).toStdString());
  const bool text_to_image = image.value(QStringLiteral("type")).toString(QStringLiteral("txt2img")) == QStringLiteral("txt2img");
  foreign::set_aside_others(meta, image,
                            {"prompt", "steps", "sampler", "cfg_scale", "seed", "width", "height",
                             text_to_image ? "type" : "", "threshold", "perlin"});
  for (const char* key : {"threshold", "perlin"})  // 0 = off
    if (image.value(QLatin1String(key)).toDouble() != 0) foreign::add_unmapped(meta, key, image.value(QLatin1String(key)));
  foreign::order_fields(meta);
  return meta;
}

}  // namespace latent::image
