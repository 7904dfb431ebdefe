#include "core/pipeline/model_probe.h"

#include <QJsonArray>

#include <set>
#include <vector>

#include "core/io/lora_keys.h"
#include "core/io/model_files.h"
#include "core/io/safetensors.h"

namespace latent::pipeline {
namespace {

// diffusers' VAE scale factor: 2 ** (len(block_out_channels) - 1).
int64_t vae_scale_of(const QJsonObject& vae_config) {
  const qsizetype levels = vae_config.value(QLatin1String("block_out_channels")).toArray().size();
  return levels > 0 ? int64_t{1} << (levels - 1) : 8;
}

}  // namespace

ModelDefaults model_defaults_for(io::ModelFamily family, int64_t latent_side, int64_t vae_scale) {
  ModelDefaults defaults;
  defaults.width = defaults.height = static_cast<int>(latent_side * vae_scale);
  defaults.guidance_scale = io::is_sdxl(family) ? 5.0 : 7.5;
  return defaults;
}

ModelSummary probe_model(const api::LoadOptions& options) {
  const io::ModelFiles files = io::open_model(options.model_path, options.config_dir, options.prediction);
  ModelSummary summary;
  summary.family = files.family;
  // diffusers' UNet2DConditionModel defaults sample_size to 64 when the config omits it.
  const int64_t latent_side = files.unet_config.value(QLatin1String("sample_size")).toInt(64);
  summary.defaults = model_defaults_for(files.family, latent_side, vae_scale_of(files.vae_config));
  summary.prediction = options.prediction.empty()
                           ? files.scheduler_config.value(QLatin1String("prediction_type")).toString(QStringLiteral("epsilon")).toStdString()
                           : options.prediction;
  summary.prediction_is_a_choice = files.family == io::ModelFamily::sd2 && files.format == io::ModelFormat::SingleFile;
  const std::string scheduler_class = files.scheduler_config.value(QLatin1String("_class_name")).toString().toStdString();
  summary.fast = fast_preset_for(scheduler_class, files.unet_config.value(QLatin1String("time_cond_proj_dim")).toInt(0) > 0);
  return summary;
}

io::LoraFamilyEvidence probe_lora(const std::string& path) {
  const io::SafetensorsFile file(path);
  std::set<std::string> modules;
  for (const io::TensorInfo& tensor : file.tensors())
    if (const auto parts = io::split_lora_key(tensor.name)) modules.insert(parts->module);
  return io::lora_family(std::vector<std::string>(modules.begin(), modules.end()), file.metadata());
}

std::string lora_misfit(const io::LoraFamilyEvidence& lora, io::ModelFamily model) {
  if (io::lora_fits_family(lora.family, model)) return {};
  return "made for " + lora.name + " (" + lora.reason + "); the model is " + io::family_name(model);
}

}  // namespace latent::pipeline
