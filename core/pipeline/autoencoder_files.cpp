#include "core/pipeline/autoencoder_files.h"

#include <QDir>
#include <QFileInfo>

#include "core/io/model_files.h"
#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/config_json.h"
#include "core/models/skip_init.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

namespace cj = models::config_json;

bool has_prefix(const io::TensorMap& tensors, const std::string& prefix) {
  const auto it = tensors.lower_bound(prefix);
  return it != tensors.end() && it->first.rfind(prefix, 0) == 0;
}

// TAESD's nn.Sequential keys ("3.conv.0.weight") as diffusers' ("layers.3.conv.0.weight"),
// the index lowered by `shift` (1 for the decoder, whose Sequential starts with a Clamp).
io::TensorMap sequential_to_layers(const io::TensorMap& tensors, int shift, const std::string& source) {
  io::TensorMap out;
  for (const auto& [key, tensor] : tensors) {
    const size_t dot = key.find('.');
    bool ok = dot != std::string::npos && dot > 0;
    int index = 0;
    for (size_t i = 0; ok && i < dot; ++i) {
      ok = key[i] >= '0' && key[i] <= '9' && index < 1000;
      index = index * 10 + (key[i] - '0');
    }
    if (!ok || index < shift)
      throw Error(source + ": tensor \"" + key + "\" is not a TAESD layer (expected keys such as \"" +
                  std::to_string(shift) + ".weight\")");
    out.emplace("layers." + std::to_string(index - shift) + key.substr(dot), tensor);
  }
  return out;
}

const torch::Tensor& tensor_named(const io::TensorMap& tensors, const std::string& key, const std::string& source) {
  const auto it = tensors.find(key);
  if (it == tensors.end() || it->second.dim() != 4)
    throw Error(source + ": TAESD's first convolution \"" + key + "\" is missing or not a convolution");
  return it->second;
}

models::AutoencoderTiny build_tiny(const models::AutoencoderTinyConfig& config) {
  models::SkipRandomInit no_init;  // every parameter is overwritten by the load
  return models::AutoencoderTiny(config);
}

// The TAESD file that holds the other half: "taesd_decoder" ↔ "taesd_encoder".
QString other_half(const QFileInfo& file, const QString& from, const QString& to) {
  QString name = file.fileName();
  const qsizetype at = name.lastIndexOf(from);
  if (at < 0) return {};
  name.replace(at, from.size(), to);
  const QString path = file.dir().filePath(name);
  return QFileInfo::exists(path) ? path : QString();
}

// TAESD's own files: a decoder and, when found beside it, an encoder (or the reverse).
void load_original_taesd(LoadedAutoencoder& out, const QFileInfo& given, const io::TensorMap& tensors,
                         bool given_is_decoder) {
  const std::string given_path = given.filePath().toStdString();
  const QString other = given_is_decoder ? other_half(given, "decoder", "encoder") : other_half(given, "encoder", "decoder");
  if (!given_is_decoder && other.isEmpty())
    throw Error("'" + given_path + "' is TAESD's encoder: name its decoder (taesd_decoder.safetensors), "
                "which decodes the picture, or put it beside this file");
  io::TensorMap other_tensors;
  std::shared_ptr<io::SafetensorsFile> other_file;
  if (!other.isEmpty()) {
    other_file = std::make_shared<io::SafetensorsFile>(other.toStdString());
    other_tensors = io::read_tensors(*other_file);
  }
  const io::TensorMap& decoder = given_is_decoder ? tensors : other_tensors;
  const std::string decoder_path = given_is_decoder ? given_path : other.toStdString();
  // The architecture of madebyollin/taesd's code; its width and latent channels from the
  // decoder's first convolution ([C, latent, 3, 3]).
  const auto& first = tensor_named(decoder, "1.weight", decoder_path);
  models::AutoencoderTinyConfig config;
  const int64_t width = first.size(0);
  config.latent_channels = first.size(1);
  config.encoder_block_out_channels = config.decoder_block_out_channels = {width, width, width, width};
  out.tiny = build_tiny(config);
  io::load_state_dict(*out.tiny->decoder, sequential_to_layers(decoder, 1, decoder_path), decoder_path);
  out.weight_files = {decoder_path};
  out.has_encoder = !other.isEmpty() || !given_is_decoder;
  if (out.has_encoder) {
    const io::TensorMap& encoder = given_is_decoder ? other_tensors : tensors;
    const std::string encoder_path = given_is_decoder ? other.toStdString() : given_path;
    io::load_state_dict(*out.tiny->encoder, sequential_to_layers(encoder, 0, encoder_path), encoder_path);
    out.weight_files.push_back(encoder_path);
  }
}

// A diffusers config's class: the tiny or the full autoencoder.
bool is_tiny_config(const QJsonObject& config, const std::string& source) {
  const std::string kind = cj::get_string(config, "_class_name", "AutoencoderKL", source);
  if (kind != "AutoencoderTiny" && kind != "AutoencoderKL")
    throw Error(source + ": \"_class_name\" \"" + kind + "\" is not an autoencoder this program runs "
                "(expected AutoencoderKL or AutoencoderTiny)");
  return kind == "AutoencoderTiny";
}

void load_diffusers_layout(LoadedAutoencoder& out, const QJsonObject& config, bool tiny,
                           const models::AutoencoderKLConfig& fallback, const io::TensorMap& tensors,
                           const std::string& source) {
  if (tiny) {
    out.tiny = build_tiny(config.isEmpty() ? models::AutoencoderTinyConfig{}
                                           : models::AutoencoderTinyConfig::from_json(config, source));
    io::load_state_dict(*out.tiny, tensors, source);
    return;
  }
  models::SkipRandomInit no_init;
  out.full = models::AutoencoderKL(config.isEmpty() ? fallback : models::AutoencoderKLConfig::from_json(config, source));
  io::load_state_dict(*out.full, tensors, source);
}

}  // namespace

int64_t LoadedAutoencoder::downscale_factor() const {
  return is_tiny() ? tiny->config().downscale_factor() : full->config().downscale_factor();
}

int64_t LoadedAutoencoder::latent_channels() const {
  return is_tiny() ? tiny->config().latent_channels : full->config().latent_channels;
}

std::unique_ptr<LoadedAutoencoder> load_autoencoder(const std::string& path,
                                                    const models::AutoencoderKLConfig& model_vae_config,
                                                    torch::Device device, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  const QFileInfo info(QString::fromStdString(path));
  if (!info.exists()) throw Error("the autoencoder '" + path + "' does not exist");
  auto out = std::make_unique<LoadedAutoencoder>();
  out->path = path;
  out->name = info.completeBaseName().toStdString();

  if (info.isDir()) {
    QDir dir(info.filePath());
    if (!dir.exists("config.json") && dir.exists("vae/config.json")) dir.cd("vae");  // a model folder
    const std::string config_path = dir.filePath("config.json").toStdString();
    const std::string weights_path = dir.filePath("diffusion_pytorch_model.safetensors").toStdString();
    if (!dir.exists("config.json") || !dir.exists("diffusion_pytorch_model.safetensors"))
      throw Error("'" + path + "' is not an autoencoder folder: it needs config.json and "
                  "diffusion_pytorch_model.safetensors (a diffusers AutoencoderKL or AutoencoderTiny)");
    const QJsonObject config = cj::read_file(config_path);
    const io::SafetensorsFile file(weights_path);
    load_diffusers_layout(*out, config, is_tiny_config(config, config_path), model_vae_config,
                          io::read_tensors(file), weights_path);
    out->weight_files = {weights_path};
  } else {
    if (io::is_pickle_file(path))
      throw Error(io::pickle_refusal(path, "Use the .safetensors release of this autoencoder."));
    const io::SafetensorsFile file(path);
    const io::TensorMap tensors = io::read_tensors(file);
    const QString beside = info.dir().filePath("config.json");
    const QJsonObject config = QFileInfo::exists(beside) ? cj::read_file(beside.toStdString()) : QJsonObject();
    if (has_prefix(tensors, "encoder.layers.") || has_prefix(tensors, "decoder.layers.")) {
      load_diffusers_layout(*out, config, true, model_vae_config, tensors, path);
      out->weight_files = {path};
    } else if (has_prefix(tensors, "decoder.up_blocks.") || has_prefix(tensors, "encoder.down_blocks.")) {
      if (!config.isEmpty() && is_tiny_config(config, beside.toStdString()))
        throw Error("'" + path + "' holds a full VAE, but the config.json beside it describes an AutoencoderTiny");
      load_diffusers_layout(*out, config, false, model_vae_config, tensors, path);
      out->weight_files = {path};
    } else if (tensors.count("1.weight") && !tensors.count("0.weight")) {
      load_original_taesd(*out, info, tensors, true);
    } else if (tensors.count("0.weight") && tensors.count("1.conv.0.weight")) {
      load_original_taesd(*out, info, tensors, false);
    } else {
      throw Error("'" + path + "' is not an autoencoder this program reads: expected diffusers' "
                  "AutoencoderKL or AutoencoderTiny names (decoder.up_blocks.*, decoder.layers.*) or "
                  "TAESD's own files (taesd_decoder.safetensors); a VAE in the original checkpoint "
                  "layout (decoder.up.*) has to be converted to a diffusers folder first");
    }
  }
  if (out->is_tiny()) {
    out->tiny->to(device, dtype);
    out->tiny->eval();
  } else {
    out->full->to(device, dtype);
    out->full->eval();
  }
  return out;
}

}  // namespace latent::pipeline
