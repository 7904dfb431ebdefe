#pragma once

// Full-size Stable Diffusion folders with random weights, so speed and memory can
// be measured without downloading any model.

#include <cstdint>
#include <string>

namespace latent::pipeline {

struct RandomModelOptions {
  std::string config = "sd15";  // the bundled config set to build
  std::string dtype = "fp16";   // storage precision: fp32, fp16 or bf16
  std::string out_dir;          // created; must not exist or be empty
  uint64_t seed = 0;
};

// Writes a diffusers folder (model_index.json, configs, tokenizer files, weights).
// Weights keep LibTorch's default initialisation scaled down so activations stay
// finite in half precision through every layer.
void write_random_model(const RandomModelOptions& options);

}  // namespace latent::pipeline
