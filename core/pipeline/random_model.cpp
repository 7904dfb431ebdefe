#include "core/pipeline/random_model.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <torch/torch.h>

#include "core/io/safetensors.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/clip_text_model.h"
#include "core/models/config_json.h"
#include "core/models/controlnet_model.h"
#include "core/models/unet_2d_condition.h"
#include "core/pipeline/model_bundle.h"
#include "core/util/error.h"
#include "core/util/resources.h"

namespace latent::pipeline {
namespace {

using Kind = RandomModelLayout::Kind;

void copy_file(const QString& from, const QString& to) {
  QFile::remove(to);
  if (!QFile::copy(from, to))
    throw Error("cannot copy '" + from.toStdString() + "' to '" + to.toStdString() + "'");
}

// Shrinks the weights so that deep stacks of random layers do not blow up in fp16,
// and writes them. Norm scales stay 1: they set the activations' size. Each parameter's
// full-precision storage is let go once converted, so the module and its written copy are
// not both held in full.
void write_module(torch::nn::Module& module, const QString& path, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (auto& item : module.named_parameters(true)) {
    auto value = item.value();
    const bool is_norm = item.key().find("norm") != std::string::npos;
    if (!is_norm) value.mul_(0.5);
    torch::Tensor stored = value.to(dtype);
    if (stored.is_same(value)) stored = value.clone();
    tensors.emplace_back(item.key(), stored);
    value.set_();  // an empty tensor: the module is only written, never run
  }
  io::write_safetensors(path.toStdString(), tensors, {{"format", "pt"}});
}

void write_component(const QDir& out, const RandomModelLayout::Component& component,
                     const std::string& file, torch::ScalarType dtype) {
  const QString folder = QString::fromStdString(component.folder);
  const std::string config = out.filePath(folder + "/config.json").toStdString();
  const QString path = out.filePath(folder + "/" + QString::fromStdString(file));
  switch (component.kind) {
    case Kind::text_encoder: {
      models::CLIPTextModel model(models::CLIPTextConfig::from_file(config));
      write_module(*model, path, dtype);
      break;
    }
    case Kind::vae: {
      models::AutoencoderKL model(models::AutoencoderKLConfig::from_file(config));
      write_module(*model, path, dtype);
      break;
    }
    case Kind::unet: {
      models::UNet2DConditionModel model(models::UNet2DConditionConfig::from_file(config));
      write_module(*model, path, dtype);
      break;
    }
  }
}

}  // namespace

std::vector<std::string> random_model_configs() { return {"sd15", "sd21-768", "sdxl", "sdxl-refiner"}; }

RandomModelLayout random_model_layout(const std::string& config) {
  const RandomModelLayout::Component unet{"unet", Kind::unet, "diffusion_pytorch_model"};
  const RandomModelLayout::Component vae{"vae", Kind::vae, "diffusion_pytorch_model"};
  const RandomModelLayout::Component text_encoder{"text_encoder", Kind::text_encoder, "model"};
  const RandomModelLayout::Component text_encoder_2{"text_encoder_2", Kind::text_encoder, "model"};
  // Smallest first, so that a full disk or a refused allocation shows early.
  if (config == "sd15") return {"sd15", {text_encoder, vae, unet}, {"tokenizer"}};
  if (config == "sd21-768") return {"sd21_768", {text_encoder, vae, unet}, {"tokenizer"}, true};
  if (config == "sdxl")
    return {"sdxl_base", {text_encoder, vae, text_encoder_2, unet}, {"tokenizer", "tokenizer_2"}};
  if (config == "sdxl-refiner") return {"sdxl_refiner", {vae, text_encoder_2, unet}, {"tokenizer_2"}};
  std::string names;
  for (const auto& name : random_model_configs()) names += (names.empty() ? "" : ", ") + name;
  throw Error("unknown model config '" + config + "': use " + names);
}

std::string random_model_weights_file(const RandomModelLayout::Component& component,
                                      const std::string& dtype) {
  return component.weights + (dtype == "fp16" ? ".fp16.safetensors" : ".safetensors");
}

void write_random_model_configs(const RandomModelOptions& options) {
  const RandomModelLayout layout = random_model_layout(options.config);
  parse_dtype(options.dtype);  // refuses an unknown name before anything is written
  const QDir out(QString::fromStdString(options.out_dir));
  if (out.exists() && !out.isEmpty())
    throw Error("'" + options.out_dir + "' exists and is not empty; choose a new folder");
  if (!QDir().mkpath(out.path()))
    throw Error("cannot create the folder '" + options.out_dir + "'");
  std::vector<std::string> folders = {"scheduler"};
  for (const auto& component : layout.components) folders.push_back(component.folder);
  folders.insert(folders.end(), layout.tokenizers.begin(), layout.tokenizers.end());
  for (const auto& folder : folders)
    if (!out.mkpath(QString::fromStdString(folder)))
      throw Error("cannot create '" + out.filePath(QString::fromStdString(folder)).toStdString() + "'");

  const QDir configs(QString::fromStdString(util::resource_path(layout.configs)));
  copy_file(configs.filePath("model_index.json"), out.filePath("model_index.json"));
  copy_file(configs.filePath("scheduler/scheduler_config.json"), out.filePath("scheduler/scheduler_config.json"));
  for (const auto& component : layout.components) {
    const QString config = QString::fromStdString(component.folder) + "/config.json";
    copy_file(configs.filePath(config), out.filePath(config));
  }
  for (const auto& name : layout.tokenizers) {
    const QString folder = QString::fromStdString(name);
    const std::string source = layout.open_clip_tokenizer && name == "tokenizer" ? "tokenizer_2" : name;
    const QDir tokenizer(QString::fromStdString(util::resource_path(source)));
    for (const QString& file : tokenizer.entryList(QDir::Files)) {
      if (file == "README.md") continue;  // about the bundled copy, not part of a tokenizer
      copy_file(tokenizer.filePath(file), out.filePath(folder + "/" + file));
    }
  }
}

void write_random_model(const RandomModelOptions& options) {
  const RandomModelLayout layout = random_model_layout(options.config);
  const torch::ScalarType dtype = parse_dtype(options.dtype);
  write_random_model_configs(options);
  const QDir out(QString::fromStdString(options.out_dir));
  torch::manual_seed(options.seed);
  for (const auto& component : layout.components)
    write_component(out, component, random_model_weights_file(component, options.dtype), dtype);
}

bool is_random_controlnet_config(const std::string& config) { return config == "controlnet-sd15"; }

void write_random_controlnet(const RandomModelOptions& options) {
  if (!is_random_controlnet_config(options.config))
    throw Error("unknown ControlNet config '" + options.config + "': use controlnet-sd15");
  const torch::ScalarType dtype = parse_dtype(options.dtype);
  const QDir out(QString::fromStdString(options.out_dir));
  if (out.exists() && !out.isEmpty())
    throw Error("'" + options.out_dir + "' exists and is not empty; choose a new folder");
  if (!QDir().mkpath(out.path())) throw Error("cannot create the folder '" + options.out_dir + "'");
  // The UNet's config with ControlNetModel's keys: what from_unet gives for SD 1.5, and
  // what the released ControlNet 1.1 folders hold.
  QJsonObject config =
      models::config_json::read_file(util::resource_path("sd15") + "/unet/config.json");
  for (const char* key : {"up_block_types", "out_channels", "sample_size", "center_input_sample",
                          "conv_out_kernel", "reverse_transformer_layers_per_block"})
    config.remove(key);
  config.insert("_class_name", "ControlNetModel");
  config.insert("conditioning_channels", 3);
  config.insert("conditioning_embedding_out_channels", QJsonArray{16, 32, 96, 256});
  config.insert("controlnet_conditioning_channel_order", "rgb");
  config.insert("global_pool_conditions", false);
  QFile file(out.filePath("config.json"));
  if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(config).toJson()) < 0)
    throw Error("cannot write '" + file.fileName().toStdString() + "'");
  file.close();
  torch::manual_seed(options.seed);
  models::ControlNetModel model(models::ControlNetConfig::from_json(config, "controlnet-sd15"));
  const RandomModelLayout::Component weights{"", Kind::unet, "diffusion_pytorch_model"};
  write_module(*model, out.filePath(QString::fromStdString(random_model_weights_file(weights, options.dtype))),
               dtype);
}

}  // namespace latent::pipeline
