#pragma once

// Full-size Stable Diffusion folders with random weights, so speed and memory can
// be measured without downloading any model.

#include <cstdint>
#include <string>
#include <vector>

namespace latent::pipeline {

struct RandomModelOptions {
  std::string config = "sd15";  // a name from random_model_configs()
  std::string dtype = "fp16";   // storage precision: fp32, fp16 or bf16
  std::string out_dir;          // created; must not exist or be empty
  uint64_t seed = 0;
};

// The architectures make-random-model builds: "sd15", "sd21-768" (Stable Diffusion 2.1,
// 768-v), "sdxl" (the SDXL base) and "sdxl-refiner".
std::vector<std::string> random_model_configs();

// What a random model's folder holds, in the diffusers arrangement the loader reads.
struct RandomModelLayout {
  enum class Kind { unet, vae, text_encoder };
  struct Component {
    std::string folder;   // "unet", "vae", "text_encoder", "text_encoder_2"
    Kind kind;
    std::string weights;  // file name without ".safetensors" / ".fp16.safetensors"
  };
  std::string configs;                  // the bundled config folder: "sd15", "sd21_768", "sdxl_base", ...
  std::vector<Component> components;    // each with <folder>/config.json from `configs`
  std::vector<std::string> tokenizers;  // bundled tokenizer folders copied: "tokenizer", "tokenizer_2"
  // SD 2.x: its "tokenizer" folder is OpenCLIP's, a copy of the bundled tokenizer_2 (which
  // pads with "!").
  bool open_clip_tokenizer = false;
};

// Throws latent::Error naming the configs there are for an unknown name.
RandomModelLayout random_model_layout(const std::string& config);

// The weight file of a component as the loader looks for it (diffusers' variant naming):
// "<weights>.fp16.safetensors" for fp16, "<weights>.safetensors" otherwise.
std::string random_model_weights_file(const RandomModelLayout::Component& component,
                                      const std::string& dtype);

// Creates the folder with everything but the weights: model_index.json, the scheduler's,
// each component's config.json and the tokenizer files.
void write_random_model_configs(const RandomModelOptions& options);

// "controlnet-sd15": a full-size SD 1.5 ControlNet (the ControlNet 1.1 architecture,
// diffusers' ControlNetModel.from_unet of the bundled SD 1.5 UNet config).
bool is_random_controlnet_config(const std::string& config);

// Writes a diffusers ControlNet folder (config.json and the weights) for such a config at
// options.out_dir, as write_random_model writes a model. Throws latent::Error for an
// unknown config, an unknown dtype or a folder that is not new.
void write_random_controlnet(const RandomModelOptions& options);

// Writes a diffusers folder (write_random_model_configs, then the weights one component at
// a time, so that only one network is in memory: about 10 GB for the SDXL UNet, which is
// built in fp32). Weights keep LibTorch's default initialisation scaled down so
// activations stay finite in half precision through every layer.
void write_random_model(const RandomModelOptions& options);

}  // namespace latent::pipeline
