#pragma once

// How a model is opened: which files, on which device, in which precision.

#include <string>

namespace latent::api {

struct LoadOptions {
  std::string model_path;  // diffusers folder or single-file .safetensors checkpoint
  std::string config_dir;  // configs for a single file; empty = the bundled configs
  std::string device = "cpu";  // "cpu" or "cuda"
  std::string dtype = "fp32";  // "fp32", "bf16", "fp16" or "auto"

  bool operator==(const LoadOptions& other) const {
    return model_path == other.model_path && config_dir == other.config_dir &&
           device == other.device && dtype == other.dtype;
  }
  bool operator!=(const LoadOptions& other) const { return !(*this == other); }
};

}  // namespace latent::api
