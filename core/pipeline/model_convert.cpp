#include "core/pipeline/model_convert.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <torch/torch.h>

#include "core/io/model_files.h"
#include "core/io/safetensors.h"
#include "core/models/clip_text_model.h"
#include "core/models/skip_init.h"
#include "core/models/unet_2d_condition.h"
#include "core/pipeline/weight_loading.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

void write_json(const QString& path, const QJsonObject& json) {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(json).toJson()) < 0)
    throw Error("cannot write '" + path.toStdString() + "'");
}

void make_folder(const QDir& dir, const std::string& name) {
  if (!dir.mkpath(QString::fromStdString(name)))
    throw Error("cannot create the folder '" + dir.filePath(QString::fromStdString(name)).toStdString() + "'");
}

// The model index of the files, or one naming the components written (a single file whose
// config folder has none).
QJsonObject model_index_of(const io::ModelFiles& files) {
  QJsonObject index = files.model_index;
  if (!index.contains("_class_name"))
    index["_class_name"] = io::is_sdxl(files.family) ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline";
  index["unet"] = QJsonArray{"diffusers", "UNet2DConditionModel"};
  index["vae"] = QJsonArray{"diffusers", "AutoencoderKL"};
  index["scheduler"] = QJsonArray{"diffusers", files.scheduler_config.value("_class_name").toString("PNDMScheduler")};
  for (const auto& encoder : files.text_encoders) {
    const bool projection = encoder.config.value("architectures").toArray().contains("CLIPTextModelWithProjection");
    index[QString::fromStdString(encoder.name)] =
        QJsonArray{"transformers", projection ? "CLIPTextModelWithProjection" : "CLIPTextModel"};
    index[QString::fromStdString(io::tokenizer_name(encoder.name))] = QJsonArray{"transformers", "CLIPTokenizer"};
  }
  return index;
}

void copy_folder_files(const std::string& from, const QString& to) {
  const QDir source(QString::fromStdString(from));
  for (const QString& name : source.entryList(QDir::Files)) {
    if (!QFile::copy(source.filePath(name), QDir(to).filePath(name)))
      throw Error("cannot copy '" + source.filePath(name).toStdString() + "' to '" + to.toStdString() + "'");
  }
}

// The component's tensors with the layers `int8_modules` names of `module` in 8 bits, in
// name order, as the loader's own preparation makes them.
std::vector<std::pair<std::string, torch::Tensor>> quantized(torch::nn::Module& module, io::TensorMap tensors,
                                                             const std::vector<std::string>& int8_modules) {
  torch::NoGradGuard no_grad;
  prepare_weight_forms(module, "", tensors, int8_modules);
  return {tensors.begin(), tensors.end()};
}

void write_component(const QDir& out, const std::string& folder, const std::string& file,
                     const std::vector<std::pair<std::string, torch::Tensor>>& tensors, bool int8) {
  std::map<std::string, std::string> metadata{{"format", "pt"}};
  if (int8) metadata["weights"] = "int8, a float32 weight_scale per output channel (latentstudio-cli convert)";
  io::write_safetensors(out.filePath(QString::fromStdString(folder + "/" + file)).toStdString(), tensors, metadata);
}

}  // namespace

void convert_model(const ConvertOptions& options, const std::function<void(const std::string&)>& report) {
  const auto say = [&](const std::string& what) {
    if (report) report(what);
  };
  if (options.weights != "int8")
    throw Error("convert writes --weights int8 only; '" + options.weights + "' is not a form it writes");
  const QFileInfo target(QString::fromStdString(options.out_dir));
  if (target.exists() && !(target.isDir() && QDir(target.filePath()).isEmpty()))
    throw Error("'" + options.out_dir + "' exists and is not an empty folder; choose a new folder");

  io::ModelFiles files = io::open_model(options.model_path, options.config_dir);
  const std::string source = files.config_source.empty() ? options.model_path : files.source;
  check_int8_tensors(files.unet, source + " (unet)");
  check_int8_tensors(files.vae, source + " (vae)");
  for (const auto& encoder : files.text_encoders) check_int8_tensors(encoder.weights, source + " (" + encoder.name + ")");

  // Written beside the target, then renamed into place.
  const QString partial = target.absoluteFilePath() + ".partial";
  QDir(partial).removeRecursively();
  const QDir out(partial);
  if (!QDir().mkpath(partial)) throw Error("cannot create the folder '" + partial.toStdString() + "'");
  try {
    write_json(out.filePath("model_index.json"), model_index_of(files));
    for (const char* folder : {"unet", "vae", "scheduler"}) make_folder(out, folder);
    write_json(out.filePath("unet/config.json"), files.unet_config);
    write_json(out.filePath("vae/config.json"), files.vae_config);
    write_json(out.filePath("scheduler/scheduler_config.json"), files.scheduler_config);

    for (auto& encoder : files.text_encoders) {
      say(encoder.name);
      const std::string tokenizer = io::tokenizer_name(encoder.name);
      make_folder(out, encoder.name);
      make_folder(out, tokenizer);
      write_json(out.filePath(QString::fromStdString(encoder.name + "/config.json")), encoder.config);
      copy_folder_files(encoder.tokenizer_dir, out.filePath(QString::fromStdString(tokenizer)));
      models::SkipRandomInit no_init;  // built only to know its layers
      models::CLIPTextModel model(models::CLIPTextConfig::from_json(encoder.config, source + " (" + encoder.name + ")"));
      write_component(out, encoder.name, "model.safetensors",
                      quantized(*model, std::move(encoder.weights), text_encoder_int8_modules()), true);
    }
    say("vae");
    write_component(out, "vae", "diffusion_pytorch_model.safetensors", {files.vae.begin(), files.vae.end()}, false);
    files.vae.clear();
    say("unet");
    {
      models::SkipRandomInit no_init;
      models::UNet2DConditionModel unet(models::UNet2DConditionConfig::from_json(files.unet_config, source + " (unet)"));
      write_component(out, "unet", "diffusion_pytorch_model.safetensors",
                      quantized(*unet, std::move(files.unet), unet_int8_modules()), true);
    }
    files.check_unchanged_on_disk();  // a change while reading leaves the copy in doubt
  } catch (...) {
    QDir(partial).removeRecursively();
    throw;
  }
  if (target.exists()) QDir().rmdir(target.absoluteFilePath());
  if (!QDir().rename(partial, target.absoluteFilePath()))
    throw Error("cannot move '" + partial.toStdString() + "' to '" + options.out_dir + "'");
}

}  // namespace latent::pipeline
