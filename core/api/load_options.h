#pragma once

// How a model is opened: which files, on which device, in which precision.

#include <string>

namespace latent::api {

struct LoadOptions {
  std::string model_path;  // diffusers folder or single-file .safetensors checkpoint
  std::string config_dir;  // configs for a single file; empty = the bundled configs
  std::string device = "cpu";  // "cpu" or "cuda"
  std::string dtype = "fp32";  // "fp32", "bf16", "fp16" or "auto"
  // What the UNet predicts, where the files cannot tell (a Stable Diffusion 2.x single file:
  // its weights look the same either way): "v_prediction" or "epsilon"; empty = the
  // model's scheduler config (for a 2.x single file without configs, v as diffusers reads
  // it, with the 768 configs; epsilon picks the 512 base configs).
  std::string prediction;
  // How the UNet's and text encoders' linear and convolution weights are held: "full" (in
  // the compute precision), "int8" (8 bits with a scale per output channel, computed in the
  // compute precision), or "auto": int8 when the files hold 8-bit weights (written by
  // `latentstudio-cli convert --weights int8`), else full.
  std::string weights = "auto";

  bool operator==(const LoadOptions& other) const {
    return model_path == other.model_path && config_dir == other.config_dir &&
           device == other.device && dtype == other.dtype && prediction == other.prediction &&
           weights == other.weights;
  }
  bool operator!=(const LoadOptions& other) const { return !(*this == other); }
};

}  // namespace latent::api
