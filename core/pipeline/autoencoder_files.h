#pragma once

// Autoencoders other than a model's own, for `--vae` (the final decode and the starting
// picture's encode) and `--preview-vae` (a preview after every step): a full AutoencoderKL
// or a tiny one (TAESD, diffusers' AutoencoderTiny), from a diffusers folder
// (config.json + diffusion_pytorch_model.safetensors) or one .safetensors file. A file in
// diffusers' key layout reads a config.json beside it when there is one; TAESD's own files
// (madebyollin/taesd: taesd_decoder.safetensors and taesd_encoder.safetensors, keys of an
// nn.Sequential, the decoder's shifted by one for its parameter-free Clamp) carry no
// config: their code has one architecture whose only free numbers, the width and the
// latent channels, are read from the first convolution. The encoder is looked for beside
// a decoder file by its name.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/models/autoencoder_kl.h"
#include "core/models/autoencoder_tiny.h"

namespace latent::pipeline {

struct LoadedAutoencoder {
  std::string path;
  std::string name;                       // file or folder name, for metadata
  std::vector<std::string> weight_files;  // what was read, for the hash
  models::AutoencoderKL full{nullptr};    // one of the two is set
  models::AutoencoderTiny tiny{nullptr};
  bool has_encoder = true;  // false for a TAESD decoder file without its encoder beside it

  bool is_tiny() const { return !tiny.is_empty(); }
  // Pixels per latent along each side.
  int64_t downscale_factor() const;
  int64_t latent_channels() const;
};

// Loads the autoencoder at `path` onto `device` in `dtype`. A full VAE in a single file
// must use diffusers' key names and is built from `model_vae_config` unless a config.json
// lies beside it. Throws latent::Error naming the file and what was expected.
std::unique_ptr<LoadedAutoencoder> load_autoencoder(const std::string& path,
                                                    const models::AutoencoderKLConfig& model_vae_config,
                                                    torch::Device device, torch::ScalarType dtype);

}  // namespace latent::pipeline
