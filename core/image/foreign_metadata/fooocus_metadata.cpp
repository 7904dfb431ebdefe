#include "core/image/foreign_metadata/fooocus_metadata.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStringList>

#include "core/image/foreign_metadata/metadata_fields.h"

namespace latent::image {
namespace {

// The prompt as the model read it: the list Fooocus encoded (typed prompt, styles, its
// expansion), joined as its own a1111 scheme joins it; else the prompt as typed.
std::string encoded_prompt(const QJsonObject& o, const char* full, const char* typed) {
  QStringList parts;
  for (const QJsonValue& part : o.value(QLatin1String(full)).toArray())
    if (!part.toString().isEmpty()) parts << part.toString();
  if (!parts.isEmpty()) return parts.join(QStringLiteral(", ")).toStdString();
  return o.value(QLatin1String(typed)).toString().toStdString();
}

void read_loras(const QJsonObject& o, ImageMetadata& meta) {
  const QJsonArray loras = o.value(QStringLiteral("loras")).toArray();
  for (const QJsonValue& value : loras) {
    const QJsonArray entry = value.toArray();  // [name, weight, hash]
    if (entry.size() >= 2) foreign::add_lora(meta, entry.at(0).toString().toStdString(), entry.at(1).toDouble(1.0));
  }
  if (!loras.isEmpty()) return;
  for (int i = 1; i <= 64; ++i) {  // "name : weight", or "enabled : name : weight"
    const QStringList parts = o.value(QStringLiteral("lora_combined_%1").arg(i)).toString().split(QStringLiteral(" : "));
    if (parts.size() < 2 || (parts.size() == 3 && parts.at(0) != QStringLiteral("True"))) continue;
    bool ok = false;
    const double weight = parts.last().toDouble(&ok);
    if (ok) foreign::add_lora(meta, parts.at(parts.size() - 2).toStdString(), weight);
  }
}

}  // namespace

ImageMetadata read_fooocus_json(const std::string& json, const std::string& location) {
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json));
  if (!doc.isObject()) return {};
  const QJsonObject o = doc.object();
  ImageMetadata meta;
  meta.source = "Fooocus";
  meta.location = location;
  meta.version = o.value(QStringLiteral("version")).toString().remove(QStringLiteral("Fooocus")).trimmed().toStdString();
  meta.parameters.prompt = encoded_prompt(o, "full_prompt", "prompt");
  meta.parameters.negative_prompt = encoded_prompt(o, "full_negative_prompt", "negative_prompt");
  if (o.value(QStringLiteral("prompt")).toString().toStdString() != meta.parameters.prompt)
    foreign::add_unmapped(meta, "prompt", o.value(QStringLiteral("prompt")));  // as typed, before the styles
  foreign::set_field(meta, "Steps", foreign::json_text(o.value(QStringLiteral("steps"))));
  const std::string sampler = o.value(QStringLiteral("sampler")).toString().toStdString();
  foreign::set_sampler(meta, sampler_from_comfyui(sampler, o.value(QStringLiteral("scheduler")).toString().toStdString()),
                       "sampler", sampler, "scheduler");
  foreign::set_field(meta, "CFG scale", foreign::json_text(o.value(QStringLiteral("guidance_scale"))));
  foreign::set_field(meta, "Seed", foreign::json_text(o.value(QStringLiteral("seed"))));
  const QRegularExpressionMatch size =
      QRegularExpression(QStringLiteral("(\\d+)\\D+(\\d+)")).match(o.value(QStringLiteral("resolution")).toString());
  if (size.hasMatch()) foreign::set_size(meta, size.captured(1).toInt(), size.captured(2).toInt());
  foreign::set_field(meta, "Model", foreign::model_stem(o.value(QStringLiteral("base_model")).toString().toStdString()));
  // Fooocus records the whole SHA-256; the web UI's model hash is its first 10 hex digits.
  foreign::set_field(meta, "Model hash", o.value(QStringLiteral("base_model_hash")).toString().left(10).toStdString());
  const QString refiner = o.value(QStringLiteral("refiner_model")).toString();
  if (!refiner.isEmpty() && refiner != QStringLiteral("None")) {
    foreign::set_field(meta, "Refiner", foreign::model_stem(refiner.toStdString()));
    foreign::set_field(meta, "Refiner switch at", foreign::json_text(o.value(QStringLiteral("refiner_switch"))));
  }
  const QString vae = o.value(QStringLiteral("vae")).toString();
  if (!vae.startsWith(QStringLiteral("Default"))) foreign::set_field(meta, "VAE", foreign::model_stem(vae.toStdString()));
  foreign::set_field(meta, "Clip skip", foreign::json_text(o.value(QStringLiteral("clip_skip"))));
  read_loras(o, meta);
  QStringList handled = {"prompt", "negative_prompt", "full_prompt", "full_negative_prompt", "steps", "sampler",
                         "scheduler", "guidance_scale", "seed", "resolution", "base_model", "base_model_hash",
                         "refiner_model", "refiner_model_hash", "refiner_switch", "vae", "clip_skip", "loras",
                         "metadata_scheme", "version", "created_by"};
  QJsonObject others = o;
  for (const QString& key : o.keys())
    if (handled.contains(key) || key.startsWith(QStringLiteral("lora_combined_"))) others.remove(key);
  foreign::set_aside_others(meta, others, {});
  foreign::order_fields(meta);
  return meta;
}

}  // namespace latent::image
