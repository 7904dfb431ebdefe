#include "core/pipeline/random_model.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <torch/torch.h>

#include "core/io/safetensors.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/clip_text_model.h"
#include "core/models/config_json.h"
#include "core/models/unet_2d_condition.h"
#include "core/pipeline/model_bundle.h"
#include "core/util/error.h"
#include "core/util/resources.h"

namespace latent::pipeline {
namespace {

void copy_file(const QString& from, const QString& to) {
  QFile::remove(to);
  if (!QFile::copy(from, to))
    throw Error("cannot copy '" + from.toStdString() + "' to '" + to.toStdString() + "'");
}

// Shrinks the weights so that deep stacks of random layers do not blow up in fp16,
// and writes them. Norm scales stay 1: they set the activations' size.
void write_module(torch::nn::Module& module, const QString& path, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : module.named_parameters(true)) {
    auto value = item.value();
    const bool is_norm = item.key().find("norm") != std::string::npos;
    if (!is_norm) value.mul_(0.5);
    tensors.emplace_back(item.key(), value.to(dtype));
  }
  io::write_safetensors(path.toStdString(), tensors, {{"format", "pt"}});
}

}  // namespace

void write_random_model(const RandomModelOptions& options) {
  if (options.config != "sd15")
    throw Error("unknown model config '" + options.config + "': the bundled config is sd15");
  const torch::ScalarType dtype = parse_dtype(options.dtype);
  const QDir out(QString::fromStdString(options.out_dir));
  if (out.exists() && !out.isEmpty())
    throw Error("'" + options.out_dir + "' exists and is not empty; choose a new folder");
  if (!QDir().mkpath(out.path()))
    throw Error("cannot create the folder '" + options.out_dir + "'");
  for (const char* sub : {"unet", "vae", "text_encoder", "tokenizer", "scheduler"})
    if (!out.mkpath(sub)) throw Error("cannot create '" + out.filePath(sub).toStdString() + "'");

  const QDir configs(QString::fromStdString(util::resource_path(options.config)));
  const QDir tokenizer(QString::fromStdString(util::resource_path("tokenizer")));
  copy_file(configs.filePath("model_index.json"), out.filePath("model_index.json"));
  copy_file(configs.filePath("scheduler/scheduler_config.json"), out.filePath("scheduler/scheduler_config.json"));
  for (const char* part : {"unet/config.json", "vae/config.json", "text_encoder/config.json"})
    copy_file(configs.filePath(part), out.filePath(part));
  for (const QString& name : tokenizer.entryList(QDir::Files))
    copy_file(tokenizer.filePath(name), out.filePath("tokenizer/" + name));

  torch::manual_seed(options.seed);
  const std::string suffix = dtype == torch::kFloat16 ? ".fp16.safetensors" : ".safetensors";
  {
    models::CLIPTextModel text_encoder(models::CLIPTextConfig::from_file(
        out.filePath("text_encoder/config.json").toStdString()));
    write_module(*text_encoder, out.filePath(QString::fromStdString("text_encoder/model" + suffix)), dtype);
  }
  {
    models::AutoencoderKL vae(models::AutoencoderKLConfig::from_json(
        models::config_json::read_file(out.filePath("vae/config.json").toStdString()), "vae/config.json"));
    write_module(*vae, out.filePath(QString::fromStdString("vae/diffusion_pytorch_model" + suffix)), dtype);
  }
  {
    models::UNet2DConditionModel unet(models::UNet2DConditionConfig::from_file(
        out.filePath("unet/config.json").toStdString()));
    write_module(*unet, out.filePath(QString::fromStdString("unet/diffusion_pytorch_model" + suffix)), dtype);
  }
}

}  // namespace latent::pipeline
