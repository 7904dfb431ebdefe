#include "core/image/settings_json.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace latent::image {

std::string settings_to_json(const ImageSettings& s) {
  const auto& r = s.request;
  QJsonObject o;
  o["program"] = QString("Latent Studio ") + LATENT_VERSION;
  o["prompt"] = QString::fromStdString(r.prompt);
  o["negative_prompt"] = QString::fromStdString(r.negative_prompt);
  o["width"] = r.width;
  o["height"] = r.height;
  o["steps"] = r.steps;
  o["guidance_scale"] = r.guidance_scale;
  // Seeds are 64-bit; JSON numbers are doubles, so keep the exact value as text.
  o["seed"] = QString::number(s.seed);
  o["sampler"] = QString::fromStdString(r.sampler);
  o["batch_size"] = r.batch_size;
  o["clip_skip"] = r.clip_skip;
  o["eta"] = r.eta;
  o["model"] = QString::fromStdString(s.model_name);
  o["model_hash"] = QString::fromStdString(s.model_hash);
  o["model_path"] = QString::fromStdString(s.model_path);
  o["dtype"] = QString::fromStdString(s.dtype);
  o["device"] = QString::fromStdString(s.device);
  o["rng"] = "cpu";
  QJsonArray loras;
  auto add_lora = [&](const pipeline::AppliedLora& lora) {
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
    for (const auto& spec : r.loras)
      add_lora({QFileInfo(QString::fromStdString(spec.path)).completeBaseName().toStdString(), spec.path,
                spec.multiplier, "", false, ""});
  o["loras"] = loras;
  if (r.lora_partial) o["lora_partial"] = true;
  if (pipeline::has_init_image(r) || !r.init_image_hash.empty()) {
    o["init_image"] = QString::fromStdString(r.init_image);
    o["init_image_hash"] = QString::fromStdString(r.init_image_hash);
    o["strength"] = r.strength;
    o["resize_mode"] = QString::fromStdString(r.resize_mode);
    if (!r.mask_image.empty() || r.mask_pixels || !r.mask_hash.empty()) {
      o["mask_image"] = QString::fromStdString(r.mask_image);
      o["mask_hash"] = QString::fromStdString(r.mask_hash);
      o["mask_blur"] = r.mask_blur;
      o["inpaint_full_res"] = r.inpaint_full_res;
      o["inpaint_full_res_padding"] = r.inpaint_full_res_padding;
    }
    if (r.outpaint_left || r.outpaint_top || r.outpaint_right || r.outpaint_bottom)
      o["outpaint"] = QJsonArray{r.outpaint_left, r.outpaint_top, r.outpaint_right, r.outpaint_bottom};
  }
  return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
}

bool settings_from_json(const std::string& json, ImageSettings* s) {
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json));
  if (!doc.isObject()) return false;
  const QJsonObject o = doc.object();
  if (!o.value("program").toString().startsWith("Latent Studio")) return false;
  auto& r = s->request;
  r.prompt = o.value("prompt").toString(QString::fromStdString(r.prompt)).toStdString();
  r.negative_prompt = o.value("negative_prompt").toString(QString::fromStdString(r.negative_prompt)).toStdString();
  r.width = o.value("width").toInt(r.width);
  r.height = o.value("height").toInt(r.height);
  r.steps = o.value("steps").toInt(r.steps);
  r.guidance_scale = o.value("guidance_scale").toDouble(r.guidance_scale);
  bool ok = false;
  const qulonglong seed = o.value("seed").toString().toULongLong(&ok);
  if (ok) s->seed = seed;
  r.seed = s->seed;
  r.sampler = o.value("sampler").toString(QString::fromStdString(r.sampler)).toStdString();
  r.batch_size = o.value("batch_size").toInt(r.batch_size);
  r.clip_skip = o.value("clip_skip").toInt(r.clip_skip);
  r.eta = o.value("eta").toDouble(r.eta);
  s->model_name = o.value("model").toString().toStdString();
  s->model_hash = o.value("model_hash").toString().toStdString();
  s->model_path = o.value("model_path").toString().toStdString();
  s->dtype = o.value("dtype").toString().toStdString();
  s->device = o.value("device").toString().toStdString();
  if (o.value("loras").isArray()) {
    s->loras.clear();
    r.loras.clear();
    for (const QJsonValue& value : o.value("loras").toArray()) {
      const QJsonObject entry = value.toObject();
      pipeline::AppliedLora lora;
      lora.name = entry.value("name").toString().toStdString();
      lora.path = entry.value("path").toString().toStdString();
      lora.multiplier = entry.value("multiplier").toDouble(1.0);
      lora.hash = entry.value("hash").toString().toStdString();
      lora.from_prompt = entry.value("from_prompt").toBool(false);
      if (lora.path.empty() && lora.name.empty()) continue;
      if (!lora.from_prompt) r.loras.push_back({lora.path.empty() ? lora.name : lora.path, lora.multiplier});
      s->loras.push_back(std::move(lora));
    }
    r.lora_partial = o.value("lora_partial").toBool(false);
  }
  r.init_image = o.value("init_image").toString(QString::fromStdString(r.init_image)).toStdString();
  r.init_image_hash = o.value("init_image_hash").toString(QString::fromStdString(r.init_image_hash)).toStdString();
  r.strength = o.value("strength").toDouble(r.strength);
  r.resize_mode = o.value("resize_mode").toString(QString::fromStdString(r.resize_mode)).toStdString();
  r.mask_image = o.value("mask_image").toString(QString::fromStdString(r.mask_image)).toStdString();
  r.mask_hash = o.value("mask_hash").toString(QString::fromStdString(r.mask_hash)).toStdString();
  r.mask_blur = o.value("mask_blur").toInt(r.mask_blur);
  r.inpaint_full_res = o.value("inpaint_full_res").toBool(r.inpaint_full_res);
  r.inpaint_full_res_padding = o.value("inpaint_full_res_padding").toInt(r.inpaint_full_res_padding);
  if (o.value("outpaint").isArray() && o.value("outpaint").toArray().size() == 4) {
    const QJsonArray sides = o.value("outpaint").toArray();
    r.outpaint_left = sides.at(0).toInt();
    r.outpaint_top = sides.at(1).toInt();
    r.outpaint_right = sides.at(2).toInt();
    r.outpaint_bottom = sides.at(3).toInt();
  }
  return true;
}

}  // namespace latent::image
