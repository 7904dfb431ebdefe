#include "core/pipeline/upscaler_network.h"

#include <QFileInfo>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "core/io/model_files.h"
#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/rrdbnet.h"
#include "core/models/srvgg.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

const char* kConvertHint =
    "Convert it to .safetensors once, in Python: import torch, safetensors.torch as st; "
    "sd = torch.load('NAME.pth', map_location='cpu', weights_only=True); "
    "sd = sd.get('params_ema', sd.get('params', sd)); st.save_file(sd, 'NAME.safetensors')";

bool has(const io::TensorMap& t, const std::string& name) { return t.count(name) != 0; }

// Real-ESRGAN saves its weights under params_ema (or params); a converted file may keep it.
io::TensorMap without_wrapper(io::TensorMap tensors) {
  for (const std::string prefix : {"params_ema.", "params."}) {
    if (!std::any_of(tensors.begin(), tensors.end(), [&](const auto& kv) { return kv.first.rfind(prefix, 0) == 0; }))
      continue;
    io::TensorMap out;
    for (auto& [name, tensor] : tensors)
      if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = tensor;
    return out;
  }
  return tensors;
}

// The original ESRGAN's keys (model.0, model.1.sub.N.RDBk.convj.0, model.1.sub.<last>,
// then the upsampling and output convolutions at the indices its flattened Sequential
// gives them) renamed to BasicSR's. Only ×4 files (two upsampling convolutions) have
// BasicSR's structure; others are refused.
io::TensorMap from_original_esrgan(const io::TensorMap& tensors, const std::string& path) {
  static const std::regex dense(R"(model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias))");
  static const std::regex sub(R"(model\.1\.sub\.(\d+)\.(weight|bias))");
  static const std::regex top(R"(model\.(\d+)\.(weight|bias))");
  io::TensorMap out;
  std::set<int> tail;  // indices of the convolutions after the body
  for (const auto& [name, tensor] : tensors) {
    std::smatch m;
    if (std::regex_match(name, m, dense))
      out["body." + m[1].str() + ".rdb" + m[2].str() + ".conv" + m[3].str() + "." + m[4].str()] = tensor;
    else if (std::regex_match(name, m, sub))
      out["conv_body." + m[2].str()] = tensor;
    else if (std::regex_match(name, m, top) && m[1].str() == "0")
      out["conv_first." + m[2].str()] = tensor;
    else if (std::regex_match(name, m, top))
      tail.insert(std::stoi(m[1].str()));
    else
      out[name] = tensor;  // reported as unexpected
  }
  if (tail.size() != 4)
    throw Error("'" + path + "' is an original ESRGAN file with " + std::to_string(tail.size() > 2 ? tail.size() - 2 : 0) +
                " upsampling convolution(s): only 4x models (two) are supported");
  const char* names[] = {"conv_up1", "conv_up2", "conv_hr", "conv_last"};
  int i = 0;
  for (const int index : tail) {
    for (const char* part : {"weight", "bias"}) {
      const std::string key = "model." + std::to_string(index) + "." + part;
      if (has(tensors, key)) out[std::string(names[i]) + "." + part] = tensors.at(key);
    }
    ++i;
  }
  return out;
}

int64_t count_indices(const io::TensorMap& t, const std::string& prefix, const std::string& suffix) {
  int64_t n = 0;
  while (has(t, prefix + std::to_string(n) + suffix)) ++n;
  return n;
}

// RRDBNet: features from conv_first's outputs, growth from the first dense convolution's,
// blocks by counting body.N, channels from conv_last; the scale from conv_first's inputs,
// which the pixel unshuffle of ×2 (4·3) and ×1 (16·3) models multiplies.
models::RRDBNetConfig rrdbnet_config(const io::TensorMap& t, const std::string& path) {
  models::RRDBNetConfig c;
  if (!has(t, "body.0.rdb1.conv1.weight") || !has(t, "conv_last.weight"))
    throw Error("'" + path + "' lacks RRDBNet's body.0.rdb1.conv1 or conv_last weights");
  c.features = t.at("conv_first.weight").size(0);
  c.growth = t.at("body.0.rdb1.conv1.weight").size(0);
  c.blocks = count_indices(t, "body.", ".rdb1.conv1.weight");
  c.out_channels = t.at("conv_last.weight").size(0);
  c.in_channels = c.out_channels;
  const int64_t in = t.at("conv_first.weight").size(1);
  if (in == c.in_channels) c.scale = 4;
  else if (in == 4 * c.in_channels) c.scale = 2;
  else if (in == 16 * c.in_channels) c.scale = 1;
  else
    throw Error("'" + path + "': conv_first reads " + std::to_string(in) + " channels, which is no RRDBNet scale");
  return c;
}

// SRVGGNetCompact: body.0 the first convolution (features, channels), PReLUs at odd indices,
// the last even index the output convolution, whose outputs are channels · scale².
models::SRVGGConfig srvgg_config(const io::TensorMap& t, const std::string& path) {
  models::SRVGGConfig c;
  c.features = t.at("body.0.weight").size(0);
  c.in_channels = t.at("body.0.weight").size(1);
  c.out_channels = c.in_channels;
  if (!has(t, "body.1.weight") || t.at("body.1.weight").dim() != 1)
    throw Error("'" + path + "' is a compact upscaler without PReLU activations: only PReLU ones are supported");
  int64_t last = 0;
  while (has(t, "body." + std::to_string(last + 2) + ".weight")) last += 2;
  c.convs = last / 2 - 1;
  const int64_t outputs = t.at("body." + std::to_string(last) + ".weight").size(0);
  c.scale = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(outputs) / c.out_channels)));
  if (c.convs < 0 || c.scale < 1 || c.scale * c.scale * c.out_channels != outputs)
    throw Error("'" + path + "': the last convolution's " + std::to_string(outputs) +
                " outputs are no square scale of " + std::to_string(c.out_channels) + " channels");
  return c;
}

}  // namespace

std::unique_ptr<UpscalerNetwork> load_upscaler_network(const std::string& path, torch::Device device,
                                                       torch::ScalarType dtype) {
  if (!QFileInfo::exists(QString::fromStdString(path))) throw Error("upscaler file '" + path + "' does not exist");
  if (io::is_pickle_file(path)) throw Error(io::pickle_refusal(path, kConvertHint));
  const io::SafetensorsFile file(path);
  io::TensorMap tensors = without_wrapper(io::read_tensors(file));
  if (has(tensors, "model.0.weight") && has(tensors, "model.1.sub.0.RDB1.conv1.0.weight"))
    tensors = from_original_esrgan(tensors, path);

  auto net = std::make_unique<UpscalerNetwork>();
  net->path = path;
  net->name = QFileInfo(QString::fromStdString(path)).completeBaseName().toStdString();
  net->device = device;
  net->dtype = dtype;
  if (has(tensors, "conv_first.weight")) {
    models::RRDBNet module(rrdbnet_config(tensors, path));
    net->architecture = "RRDBNet";
    net->scale = module->config.scale;
    net->size_multiple = 4 / module->config.scale;
    net->receptive_radius = module->receptive_radius();
    net->module = module.ptr();
    net->forward = [module](const torch::Tensor& x) mutable { return module->forward(x); };
  } else if (has(tensors, "body.0.weight")) {
    models::SRVGGNetCompact module(srvgg_config(tensors, path));
    net->architecture = "SRVGGNetCompact";
    net->scale = module->config.scale;
    net->receptive_radius = module->receptive_radius();
    net->module = module.ptr();
    net->forward = [module](const torch::Tensor& x) mutable { return module->forward(x); };
  } else {
    throw Error("'" + path +
                "' is not an upscaler this program knows: expected ESRGAN / Real-ESRGAN (RRDBNet: conv_first, "
                "body.N.rdbK...) or a compact Real-ESRGAN (SRVGGNetCompact: body.N...)");
  }
  net->module->to(device, dtype);
  io::load_state_dict(*net->module, tensors, path, {}, false);
  net->module->eval();
  return net;
}

}  // namespace latent::pipeline
