#pragma once

// Upscaler networks from .safetensors files: ESRGAN / Real-ESRGAN (RRDBNet, BasicSR's key
// names or the original ESRGAN's) and Real-ESRGAN's compact SRVGGNetCompact. Their files
// carry no config, so the architecture is told apart by its key names and the sizes
// (features, blocks, scale) are read from the weights' names and shapes, as every
// program that loads them does. Pickled .pth files are refused with a conversion hint.

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>

namespace latent::pipeline {

struct UpscalerNetwork {
  std::string path;
  std::string name;          // the file name without folder and extension
  std::string architecture;  // "RRDBNet" or "SRVGGNetCompact"
  int64_t scale = 4;
  // Context a tile needs on each side for its centre to equal the whole picture's result.
  int64_t receptive_radius = 0;
  // Input sides must be multiples of this (a ×2 RRDBNet unshuffles by 2, a ×1 by 4).
  int64_t size_multiple = 1;
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
  std::shared_ptr<torch::nn::Module> module;
  // [B,3,H,W] in [0,1] on `device` in `dtype` → [B,3,H·scale,W·scale].
  std::function<torch::Tensor(const torch::Tensor&)> forward;
};

// Loads the network at `path`. Throws latent::Error naming the file for a pickle, a file
// that is no upscaler this program knows, or weights that do not fit the architecture.
std::unique_ptr<UpscalerNetwork> load_upscaler_network(const std::string& path, torch::Device device = torch::kCPU,
                                                       torch::ScalarType dtype = torch::kFloat32);

}  // namespace latent::pipeline
