#include "core/io/model_family.h"

#include <algorithm>
#include <cmath>

#include "core/util/error.h"

namespace latent::io {

std::string family_name(ModelFamily family) {
  switch (family) {
    case ModelFamily::sd2: return "Stable Diffusion 2.x";
    case ModelFamily::sdxl_base: return "SDXL base";
    case ModelFamily::sdxl_refiner: return "SDXL refiner";
    case ModelFamily::sd1: break;
  }
  return "Stable Diffusion 1.x";
}

ModelFamily detect_family(const QJsonObject& unet_config, const QJsonObject& text_encoder_config) {
  if (unet_config.value(QLatin1String("addition_embed_type")).toString() == QLatin1String("text_time"))
    return text_encoder_config.isEmpty() ? ModelFamily::sdxl_refiner : ModelFamily::sdxl_base;
  // transformers' CLIPTextConfig defaults to quick_gelu, OpenAI CLIP's activation.
  const QString activation = text_encoder_config.value(QLatin1String("hidden_act")).toString(QStringLiteral("quick_gelu"));
  return activation == QLatin1String("gelu") ? ModelFamily::sd2 : ModelFamily::sd1;
}

std::vector<std::string> text_encoder_names(ModelFamily family) {
  switch (family) {
    case ModelFamily::sdxl_base:
      return {"text_encoder", "text_encoder_2"};
    case ModelFamily::sdxl_refiner:
      return {"text_encoder_2"};
    case ModelFamily::sd1:
    case ModelFamily::sd2:
      break;
  }
  return {"text_encoder"};
}

std::string tokenizer_name(const std::string& text_encoder_name) {
  const std::string stem = "text_encoder";
  return "tokenizer" + text_encoder_name.substr(std::min(stem.size(), text_encoder_name.size()));
}

namespace {

// A whole number from a config: `fallback` when absent, -1 when not a whole number.
int64_t whole_number(const QJsonObject& config, const char* key, int64_t fallback) {
  const QJsonValue value = config.value(QLatin1String(key));
  if (value.isUndefined() || value.isNull()) return fallback;
  if (!value.isDouble() || std::floor(value.toDouble()) != value.toDouble()) return -1;
  return static_cast<int64_t>(value.toDouble());
}

}  // namespace

void check_sdxl_configs(ModelFamily family, const QJsonObject& unet_config,
                        const QJsonObject& text_encoder_2_config, const QJsonObject& model_index,
                        const std::string& source) {
  if (family != ModelFamily::sdxl_base && family != ModelFamily::sdxl_refiner) return;
  const bool refiner = family == ModelFamily::sdxl_refiner;
  const QJsonValue aesthetics = model_index.value(QLatin1String("requires_aesthetics_score"));
  if (aesthetics.isBool() && aesthetics.toBool() != refiner)
    throw Error(source + ": model_index.json says \"requires_aesthetics_score\": " +
                (refiner ? "false" : "true") + ", but the model is an " + family_name(family) +
                (refiner
                     ? " (it has no first text encoder), which is conditioned on an aesthetic score"
                     : " (it has a first text encoder), which is conditioned on the target size "
                       "instead of an aesthetic score"));

  // transformers' CLIPTextConfig defaults projection_dim to 512.
  const int64_t pooled = whole_number(text_encoder_2_config, "projection_dim", 512);
  const int64_t time_width = whole_number(unet_config, "addition_time_embed_dim", -1);
  const int64_t input = whole_number(unet_config, "projection_class_embeddings_input_dim", -1);
  if (pooled < 1 || time_width < 1 || input < 1)
    throw Error(source +
                ": an SDXL model needs whole numbers for \"addition_time_embed_dim\" and "
                "\"projection_class_embeddings_input_dim\" in unet/config.json and for "
                "\"projection_dim\" in text_encoder_2/config.json");
  const int64_t ids = refiner ? 5 : 6;
  if (input != ids * time_width + pooled)
    throw Error(source + ": the UNet's \"projection_class_embeddings_input_dim\" is " +
                std::to_string(input) + ", but an " + family_name(family) + " feeds it " +
                std::to_string(ids * time_width + pooled) + " numbers: " + std::to_string(ids) +
                " size ids of " + std::to_string(time_width) +
                " (\"addition_time_embed_dim\") and the pooled text embedding of " +
                std::to_string(pooled) + " (text_encoder_2's \"projection_dim\")" +
                (refiner ? " (a refiner has 5 ids: original size, crop and aesthetic score)"
                         : " (a base has 6 ids: original size, crop and target size)"));
}

}  // namespace latent::io
