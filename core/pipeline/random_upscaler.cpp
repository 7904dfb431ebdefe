#include "core/pipeline/random_upscaler.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/io/safetensors.h"
#include "core/models/rrdbnet.h"
#include "core/models/srvgg.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

torch::ScalarType dtype_of(const std::string& dtype) {
  if (dtype == "fp32") return torch::kFloat32;
  if (dtype == "fp16") return torch::kFloat16;
  if (dtype == "bf16") return torch::kBFloat16;
  throw Error("dtype '" + dtype + "' is not one of fp32, fp16, bf16");
}

}  // namespace

std::vector<std::string> random_upscaler_configs() { return {"rrdbnet-x4", "rrdbnet-x2", "srvgg-x4"}; }

bool is_random_upscaler_config(const std::string& config) {
  const auto all = random_upscaler_configs();
  return std::find(all.begin(), all.end(), config) != all.end();
}

void write_random_upscaler(const std::string& config, const std::string& path, const std::string& dtype,
                           uint64_t seed) {
  const torch::ScalarType type = dtype_of(dtype);
  torch::manual_seed(seed);
  std::shared_ptr<torch::nn::Module> module;
  if (config == "rrdbnet-x4" || config == "rrdbnet-x2") {
    models::RRDBNetConfig c;  // the defaults are RealESRGAN_x4plus's
    c.scale = config == "rrdbnet-x4" ? 4 : 2;
    module = models::RRDBNet(c).ptr();
  } else if (config == "srvgg-x4") {
    models::SRVGGConfig c;
    c.convs = 32;
    module = models::SRVGGNetCompact(c).ptr();
  } else {
    std::string list;
    for (const auto& name : random_upscaler_configs()) list += (list.empty() ? "" : ", ") + name;
    throw Error("unknown upscaler config '" + config + "': use one of " + list);
  }
  // BasicSR scales its initial weights by 0.1 (default_init_weights) so that the residual
  // chain stays tame; the same keeps a random network's output in range.
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : module->named_parameters())
    tensors.emplace_back(item.key(), (item.value().detach() * 0.1).to(type).contiguous());
  io::write_safetensors(path, tensors);
}

}  // namespace latent::pipeline
