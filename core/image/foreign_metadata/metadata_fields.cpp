#include "core/image/foreign_metadata/metadata_fields.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <cstdio>

namespace latent::image::foreign {

void set_field(ImageMetadata& meta, const std::string& key, const std::string& value) {
  if (value.empty()) return;
  for (auto& [k, v] : meta.parameters.fields)
    if (k == key) {
      v = value;
      return;
    }
  meta.parameters.fields.push_back({key, value});
}

std::string number_text(double value) {
  if (!std::isfinite(value)) return {};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

std::string json_text(const QJsonValue& value) {
  switch (value.type()) {
    case QJsonValue::String: return value.toString().toStdString();
    case QJsonValue::Bool: return value.toBool() ? "true" : "false";
    case QJsonValue::Double: {
      // Integers exactly (seeds run to 2^63); Qt keeps them as integers when they fit.
      const qint64 integer = value.toInteger();
      if (static_cast<double>(integer) == value.toDouble()) return std::to_string(integer);
      return number_text(value.toDouble());
    }
    case QJsonValue::Array:
      return QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact).toStdString();
    case QJsonValue::Object:
      return QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact).toStdString();
    default: return {};
  }
}

namespace {

std::string without_folders(const std::string& path) {
  const std::size_t slash = path.find_last_of("/\\");
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool has_model_extension(const std::string& name) {
  const QString lower = QString::fromStdString(name).toLower();
  for (const char* extension : {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf"})
    if (lower.endsWith(QLatin1String(extension))) return true;
  return false;
}

}  // namespace

std::string model_stem(const std::string& path) {
  std::string name = without_folders(path);
  if (has_model_extension(name)) name.resize(name.rfind('.'));
  return name;
}

void set_sampler(ImageMetadata& meta, const ForeignSampler& sampler, const std::string& sampler_key,
                 const std::string& their_sampler, const std::string& schedule_key) {
  if (sampler.sampler.empty()) {
    if (!their_sampler.empty()) add_unmapped(meta, sampler_key, QString::fromStdString(their_sampler));
    return;
  }
  const auto [name, schedule] = webui_sampler_name(sampler.sampler);
  set_field(meta, "Sampler", name);
  set_field(meta, "Schedule type", schedule);
  if (sampler.trailing) set_field(meta, "Timestep Spacing", "trailing");
  if (!sampler.lost_schedule.empty()) add_unmapped(meta, schedule_key, QString::fromStdString(sampler.lost_schedule));
}

void set_size(ImageMetadata& meta, const QJsonValue& width, const QJsonValue& height) {
  const int w = width.toInt(static_cast<int>(width.toString().toInt()));
  const int h = height.toInt(static_cast<int>(height.toString().toInt()));
  if (w > 0 && h > 0) set_field(meta, "Size", std::to_string(w) + "x" + std::to_string(h));
}

std::optional<api::LoraSpec> lora_spec(const std::string& recorded_name, double multiplier) {
  std::string name = without_folders(recorded_name);
  if (name.empty() || name == "None" || !std::isfinite(multiplier)) return std::nullopt;
  if (!has_model_extension(name)) name += ".safetensors";
  return api::LoraSpec{name, multiplier};
}

void add_lora(ImageMetadata& meta, const std::string& recorded_name, double multiplier) {
  if (const auto spec = lora_spec(recorded_name, multiplier)) meta.loras.push_back(*spec);
}

void add_unmapped(ImageMetadata& meta, const std::string& name, const QJsonValue& value) {
  const std::string text = json_text(value);
  if (!text.empty()) meta.unmapped.push_back(unmapped_item(name, text));
}

void order_fields(ImageMetadata& meta) {
  static const char* const kOrder[] = {"Steps", "Sampler", "Schedule type", "CFG scale", "CFG Rescale", "Seed",
                                       "Size", "Model hash", "Model", "VAE", "Clip skip", "Timestep Spacing",
                                       "Refiner", "Refiner switch at"};
  auto rank = [](const std::string& key) {
    return std::find_if(std::begin(kOrder), std::end(kOrder), [&](const char* k) { return key == k; }) - std::begin(kOrder);
  };
  std::stable_sort(meta.parameters.fields.begin(), meta.parameters.fields.end(),
                   [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
}

void set_aside_others(ImageMetadata& meta, const QJsonObject& object, std::initializer_list<const char*> handled) {
  for (auto it = object.constBegin(); it != object.constEnd(); ++it) {
    bool known = false;
    for (const char* key : handled) known = known || it.key() == QLatin1String(key);
    const QJsonValue& value = it.value();
    const bool empty = value.isNull() || value.isUndefined() || (value.isBool() && !value.toBool()) ||
                       (value.isString() && value.toString().isEmpty()) || (value.isArray() && value.toArray().isEmpty()) ||
                       (value.isObject() && value.toObject().isEmpty());
    if (!known && !empty) add_unmapped(meta, it.key().toStdString(), value);
  }
}

}  // namespace latent::image::foreign
