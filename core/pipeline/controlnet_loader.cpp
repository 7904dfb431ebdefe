#include "core/pipeline/controlnet_loader.h"

#include <QDir>
#include <QFileInfo>

#include "core/io/controlnet_keys.h"
#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/skip_init.h"
#include "core/pipeline/model_bundle.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

bool ends_with(const std::string& key, const std::string& suffix) {
  return key.size() >= suffix.size() &&
         key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The family a net is for must be the model's: its text embeddings as wide as the UNet's,
// no SDXL added embedding. `width` is the net's cross-attention width.
void check_family(const std::string& path, int64_t width, bool sdxl,
                  const models::UNet2DConditionConfig& unet, io::ModelFamily family) {
  const int64_t model_width = unet.cross_attention_dim.front();
  if (sdxl && !io::is_sdxl(family))
    throw Error("ControlNet '" + path + "' is for SDXL, but the model is a " +
                io::family_name(family) + " model: choose a ControlNet made for " +
                io::family_name(family));
  if (io::is_sdxl(family) && !sdxl)
    throw Error("ControlNet '" + path + "' is for " + family_of_context_width(width) +
                ", but the model is an SDXL model (SDXL ControlNets are not supported yet)");
  if (width != model_width) {
    const std::string net = family_of_context_width(width);
    throw Error(
        "ControlNet '" + path + "' is for " + net +
        (net.rfind("a model", 0) == 0 ? ""
                                      : " (text embeddings " + std::to_string(width) + " wide)") +
        ", but the model is a " + io::family_name(family) + " model whose text embeddings are " +
        std::to_string(model_width) + " wide: choose a ControlNet made for its family");
  }
}

// A folder's config must describe the UNet's down path: the residuals are added to its skips.
void check_fits_unet(const std::string& path, const models::ControlNetConfig& config,
                     const models::UNet2DConditionConfig& unet) {
  const auto& c = config.unet;
  if (c.block_out_channels != unet.block_out_channels ||
      c.layers_per_block != unet.layers_per_block || c.down_block_types != unet.down_block_types ||
      c.in_channels != unet.out_channels)
    throw Error("ControlNet '" + path +
                "' has down blocks that do not match the model's UNet "
                "(block_out_channels, layers_per_block, down_block_types or in_channels differ): "
                "its residuals could not be added to this UNet's skip connections");
}

std::string folder_weights(const QDir& dir, const std::string& path) {
  for (const char* name :
       {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"}) {
    if (dir.exists(name)) return dir.filePath(name).toStdString();
  }
  throw Error("ControlNet folder '" + path +
              "' has no diffusion_pytorch_model.safetensors (or its .fp16 variant); .bin files are "
              "not read");
}

}  // namespace

std::string family_of_context_width(int64_t width) {
  if (width == 768) return "Stable Diffusion 1.x";
  if (width == 1024) return "Stable Diffusion 2.x";
  if (width == 2048) return "SDXL";
  return "a model whose text embeddings are " + std::to_string(width) + " wide";
}

std::unique_ptr<LoadedControlNet> load_controlnet(const std::string& path,
                                                  const models::UNet2DConditionConfig& unet,
                                                  io::ModelFamily family, torch::Device device,
                                                  torch::ScalarType dtype) {
  const QFileInfo info(QString::fromStdString(path));
  if (!info.exists()) throw Error("ControlNet '" + path + "' does not exist");
  auto out = std::make_unique<LoadedControlNet>();
  out->path = path;
  models::ControlNetConfig config;
  io::TensorMap weights;
  std::string weight_file;
  if (info.isDir()) {
    const QDir dir(info.absoluteFilePath());
    if (!dir.exists("config.json"))
      throw Error("ControlNet folder '" + path + "' has no config.json");
    config = models::ControlNetConfig::from_file(dir.filePath("config.json").toStdString());
    check_family(path, config.unet.cross_attention_dim.front(), config.unet.text_time_embedding,
                 unet, family);
    check_fits_unet(path, config, unet);
    weight_file = folder_weights(dir, path);
    weights = io::read_tensors(io::SafetensorsFile(weight_file));
    out->name = info.fileName().toStdString();
  } else {
    if (info.suffix().toLower() != "safetensors")
      throw Error("ControlNet '" + path + "' is not a .safetensors file or a diffusers folder");
    weight_file = path;
    weights = io::read_tensors(io::SafetensorsFile(path));
    if (!io::is_controlnet_checkpoint(weights))
      throw Error("'" + path +
                  "' is not a ControlNet: it has no control_model.* (hint encoder) tensors");
    // The file's own text-embedding width and added embedding say which family it is for.
    int64_t width = unet.cross_attention_dim.front();
    bool sdxl = false;
    for (const auto& [key, tensor] : weights) {
      if (ends_with(key, "attn2.to_k.weight") && tensor.dim() == 2) width = tensor.size(1);
      if (key.find("label_emb.") != std::string::npos ||
          key.find("add_embedding.") != std::string::npos)
        sdxl = true;
    }
    check_family(path, width, sdxl, unet, family);
    config = models::ControlNetConfig::from_unet(unet);
    weights = io::convert_controlnet_checkpoint(
        weights, config.unet_layout_json(),
        static_cast<int>(config.conditioning_embedding_out_channels.size()), path);
    out->name = info.completeBaseName().toStdString();
  }
  out->weight_files.push_back(weight_file);
  {
    models::SkipRandomInit no_init;  // every parameter is overwritten by the load
    out->model = models::ControlNetModel(config);
  }
  io::load_state_dict(*out->model, weights, weight_file, {}, /*allow_unexpected=*/false);
  weights.clear();
  out->model->to(device, dtype);
  if (prefers_channels_last(device, dtype)) {
    for (auto& p : out->model->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
  out->model->eval();
  return out;
}

}  // namespace latent::pipeline
