#include "core/io/model_folder.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>

#include "core/io/checkpoint_keys.h"
#include "core/io/component_files.h"
#include "core/util/error.h"

namespace latent::io {
namespace {

// The text encoders model_index.json names: an entry is [library, class], or [null, null]
// for a component the pipeline does without (the refiner's text_encoder).
std::vector<std::string> listed_text_encoders(const QJsonObject& index) {
  std::vector<std::string> names;
  for (const char* name : {"text_encoder", "text_encoder_2"}) {
    const QJsonArray entry = index.value(QLatin1String(name)).toArray();
    if (entry.size() == 2 && entry[0].isString() && entry[1].isString()) names.push_back(name);
  }
  return names;
}

std::string in_words(const std::vector<std::string>& names) {
  if (names.empty()) return "no text encoder";
  if (names.size() == 1) return names.front() + " alone";
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return out;
}

[[noreturn]] void refuse_folder_without_index(const QString& dir) {
  std::string hint;
  const QStringList singles = QDir(dir).entryList({"*.safetensors"}, QDir::Files, QDir::Name);
  if (!singles.isEmpty())
    hint = " It holds '" + singles.front().toStdString() +
           "': to use a single-file checkpoint, open that file instead.";
  throw Error("'" + dir.toStdString() +
              "' is not a diffusers model folder: it has no model_index.json. A model folder "
              "holds model_index.json, unet/, vae/ and text_encoder/ (each with config.json and "
              ".safetensors weights; an SDXL model has text_encoder_2/ too), tokenizer/ "
              "(vocab.json, merges.txt) and scheduler/scheduler_config.json." +
              hint);
}

void require_folders(const QString& dir, const std::vector<std::string>& encoders) {
  std::vector<std::string> needed = {"unet", "vae", "scheduler"};
  for (const auto& encoder : encoders) {
    needed.push_back(encoder);
    needed.push_back(tokenizer_name(encoder));
  }
  std::string all;
  for (const auto& name : needed) all += (all.empty() ? "" : ", ") + name + "/";
  for (const auto& name : needed)
    if (!QFileInfo(QDir(dir).filePath(QString::fromStdString(name))).isDir())
      throw Error("model folder '" + dir.toStdString() + "' has no " + name +
                  "/ folder; with the text encoders its model_index.json names it needs " + all);
}

// A text encoder's config and tokenizer; its weights come once the family is known.
TextEncoderFiles text_encoder_configs(const QString& dir, const std::string& name) {
  TextEncoderFiles encoder;
  encoder.name = name;
  encoder.config = read_json_object(path_in(dir, name + "/config.json"), "the " + name + " config");
  encoder.tokenizer_dir = path_in(dir, tokenizer_name(name));
  check_tokenizer_folder(encoder.tokenizer_dir);
  return encoder;
}

// The family comes from the configs; the text encoders model_index.json names must be the
// family's (an SDXL refiner is told from the base by having no first encoder).
void check_family(const std::string& dir, const std::vector<std::string>& encoders,
                  ModelFiles& out) {
  const TextEncoderFiles* first = out.text_encoder("text_encoder");
  out.family = detect_family(out.unet_config, first ? first->config : QJsonObject());
  if (text_encoder_names(out.family) != encoders)
    throw Error("model folder '" + dir + "': its configs describe a model of the " +
                family_name(out.family) + " family, which has " +
                in_words(text_encoder_names(out.family)) + ", but its model_index.json names " +
                in_words(encoders));
  const TextEncoderFiles* second = out.text_encoder("text_encoder_2");
  check_sdxl_configs(out.family, out.unet_config, second ? second->config : QJsonObject(),
                     out.model_index, dir);
}

}  // namespace

ModelFiles open_model_folder(const QString& dir) {
  const std::string name = dir.toStdString();
  if (!QFileInfo(QDir(dir).filePath("model_index.json")).isFile()) refuse_folder_without_index(dir);
  const std::string index_path = path_in(dir, "model_index.json");
  const QJsonObject index = read_json_object(index_path, "the model index");
  const std::vector<std::string> encoders = listed_text_encoders(index);
  if (encoders.empty())
    throw Error("'" + index_path + "' names no text encoder (text_encoder or text_encoder_2)");
  require_folders(dir, encoders);

  ModelFiles out;
  out.format = ModelFormat::DiffusersFolder;
  out.source = name;
  out.config_source = name;
  out.model_index = index;
  out.unet_config = read_json_object(path_in(dir, "unet/config.json"), "the UNet config");
  out.vae_config = read_json_object(path_in(dir, "vae/config.json"), "the VAE config");
  out.scheduler_config =
      read_json_object(path_in(dir, "scheduler/scheduler_config.json"), "the scheduler config");

  for (const auto& encoder : encoders)
    out.text_encoders.push_back(text_encoder_configs(dir, encoder));
  check_family(name, encoders, out);

  const auto unet =
      open_component_weights(QDir(dir).filePath("unet"), "diffusion_pytorch_model", "unet");
  const auto vae =
      open_component_weights(QDir(dir).filePath("vae"), "diffusion_pytorch_model", "vae");
  out.files.insert(out.files.end(), unet.begin(), unet.end());
  out.files.insert(out.files.end(), vae.begin(), vae.end());
  out.unet = read_all(unet);
  out.vae = read_all(vae);
  rename_legacy_vae_keys(out.vae);
  for (TextEncoderFiles& encoder : out.text_encoders) {
    const auto files = open_component_weights(
        QDir(dir).filePath(QString::fromStdString(encoder.name)), "model", encoder.name);
    out.files.insert(out.files.end(), files.begin(), files.end());
    encoder.weights = read_all(files);
    drop_unused_text_encoder_keys(encoder.weights);
  }
  return out;
}

}  // namespace latent::io
