#include "core/image/foreign_metadata/novelai_metadata.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

#include "core/image/foreign_metadata/metadata_fields.h"

namespace latent::image {
namespace {

// V4's prompt: a base caption and one caption per character, placed on the picture by
// NovelAI; here the characters have no place, so they are set aside.
std::string base_caption(const QJsonValue& v4_prompt, ImageMetadata& meta, const char* characters_name) {
  const QJsonObject caption = v4_prompt.toObject().value(QStringLiteral("caption")).toObject();
  QStringList characters;
  for (const QJsonValue& character : caption.value(QStringLiteral("char_captions")).toArray()) {
    const QString text = character.toObject().value(QStringLiteral("char_caption")).toString();
    if (!text.isEmpty()) characters << text;
  }
  if (!characters.isEmpty()) foreign::add_unmapped(meta, characters_name, characters.join(QStringLiteral(" | ")));
  return caption.value(QStringLiteral("base_caption")).toString().toStdString();
}

}  // namespace

ImageMetadata read_novelai_comment(const std::string& comment, const std::string& description,
                                   const std::string& model, const std::string& location) {
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(comment));
  if (!doc.isObject()) return {};
  const QJsonObject o = doc.object();
  ImageMetadata meta;
  meta.source = "NovelAI";
  meta.location = location;
  std::string prompt = o.value(QStringLiteral("prompt")).toString().toStdString();
  std::string negative = o.value(QStringLiteral("uc")).toString().toStdString();
  const std::string v4 = base_caption(o.value(QStringLiteral("v4_prompt")), meta, "character prompts");
  const std::string v4_negative = base_caption(o.value(QStringLiteral("v4_negative_prompt")), meta, "character negative prompts");
  if (prompt.empty()) prompt = v4.empty() ? description : v4;
  if (negative.empty()) negative = v4_negative;
  meta.parameters.prompt = prompt;
  meta.parameters.negative_prompt = negative;
  foreign::set_field(meta, "Steps", foreign::json_text(o.value(QStringLiteral("steps"))));
  const std::string sampler = o.value(QStringLiteral("sampler")).toString().toStdString();
  const std::string schedule = o.value(QStringLiteral("noise_schedule")).toString().toStdString();
  foreign::set_sampler(meta, sampler_from_novelai(sampler, schedule), "sampler", sampler, "noise_schedule");
  foreign::set_field(meta, "CFG scale", foreign::json_text(o.value(QStringLiteral("scale"))));
  // NovelAI's "CFG rescale" is the guidance rescale of the zero-SNR paper, as the web UI's extension's.
  if (o.value(QStringLiteral("cfg_rescale")).toDouble() > 0)
    foreign::set_field(meta, "CFG Rescale", foreign::json_text(o.value(QStringLiteral("cfg_rescale"))));
  foreign::set_field(meta, "Seed", foreign::json_text(o.value(QStringLiteral("seed"))));
  foreign::set_size(meta, o.value(QStringLiteral("width")), o.value(QStringLiteral("height")));
  // NovelAI's own models cannot be loaded elsewhere: the name is kept aside, not looked for.
  if (!model.empty()) meta.unmapped.push_back({"Source", model});
  if (o.value(QStringLiteral("uncond_scale")).toDouble(1.0) != 1.0)
    foreign::add_unmapped(meta, "uncond_scale", o.value(QStringLiteral("uncond_scale")));
  if (o.value(QStringLiteral("n_samples")).toInt(1) > 1) foreign::add_unmapped(meta, "n_samples", o.value(QStringLiteral("n_samples")));
  // The rest, but for bookkeeping and for values that act only with an option that is off
  // (thresholding, ControlNet and vibe settings) or only in image to image.
  const bool image_to_image = o.value(QStringLiteral("request_type")).toString().startsWith(QStringLiteral("Img2Img"));
  foreign::set_aside_others(
      meta, o,
      {"prompt", "uc", "v4_prompt", "v4_negative_prompt", "steps", "sampler", "noise_schedule", "scale",
       "cfg_rescale", "seed", "width", "height", "uncond_scale", "n_samples", "signed_hash", "request_type",
       "params_version", "version", "cfg_sched_eligibility", "uncond_per_vibe", "wonky_vibe_correlation",
       "controlnet_strength", "dynamic_thresholding_percentile", "dynamic_thresholding_mimic_scale",
       "skip_cfg_below_sigma", image_to_image ? "" : "strength", image_to_image ? "" : "noise"});
  foreign::order_fields(meta);
  return meta;
}

}  // namespace latent::image
