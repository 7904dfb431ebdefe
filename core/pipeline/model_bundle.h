#pragma once

// A loaded Stable Diffusion model: its family, its text encoders with their tokenizers,
// UNet, VAE and the scheduler config, with weights converted once to the compute dtype
// and device.

#include <torch/torch.h>

#include <QJsonObject>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/api/load_options.h"
#include "core/io/model_family.h"
#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/autoencoder_tiny.h"
#include "core/models/clip_text_model.h"
#include "core/models/unet_2d_condition.h"
#include "core/text/clip_tokenizer.h"

namespace latent::pipeline {

// One text encoder with the tokenizer that feeds it.
struct TextEncoder {
  std::string name;  // its folder in the diffusers layout: "text_encoder", "text_encoder_2"
  std::unique_ptr<text::ClipTokenizer> tokenizer;
  models::CLIPTextModel model{nullptr};
  // Its file tensors (views of the mapping) and their name for messages, to load it again
  // after a release (text_encoder_residency.h).
  io::TensorMap weights;
  std::string source;
  // While released: every parameter and buffer, memoryless, with the shape and precision to
  // load it into again.
  struct Released {
    torch::Tensor tensor;
    std::vector<int64_t> sizes;
    torch::ScalarType dtype;
  };
  std::vector<Released> released;
};

// Low-memory mode (memory_plan.h) releases the text encoders after each encoding and loads
// them again from the mapped files when next needed. What is merged into their weights (the
// LoRAs) has to be forgotten before a release and merged again after the reload.
struct TextEncoderRelease {
  bool released = false;  // their weights are not in memory now
  std::function<void()> before_release;
  std::function<void()> after_reload;
};

struct ModelBundle {
  api::LoadOptions options;
  std::string name;                        // folder or file name, for metadata
  std::vector<std::string> weight_files;   // what was read, for the model hash
  std::string format;                      // "diffusers folder" or "single file"
  io::ModelFamily family = io::ModelFamily::sd1;
  // In the order the family concatenates their outputs (SD 1.x and 2.x have one; SDXL
  // base two, its refiner one).
  std::vector<TextEncoder> text_encoders;
  // model_index.json's SDXL switches: an absent negative prompt becomes zero embeddings
  // (the base), and the time ids carry an aesthetic score instead of the target size
  // (the refiner).
  bool force_zeros_for_empty_prompt = false;
  bool requires_aesthetics_score = false;
  models::UNet2DConditionModel unet{nullptr};
  models::AutoencoderKL vae{nullptr};
  // A tiny autoencoder (TAESD) standing in for `vae` while a request asks for it
  // (GenerationRequest::vae): it decodes the final latents and encodes a starting picture.
  models::AutoencoderTiny tiny_vae{nullptr};
  QJsonObject scheduler_config;
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
  // How the UNet's and text encoders' linear and convolution weights are held: "full" (in
  // `dtype`) or "int8" (weight_loading.h).
  std::string weights = "full";
  std::vector<std::shared_ptr<const io::SafetensorsFile>> files;  // every file mapped
  // This run is in low-memory mode (memory_plan.h): the text encoders are released after each
  // encoding and the VAE decodes in bands.
  bool low_memory = false;
  TextEncoderRelease text_encoder_release;

  // The precision the VAE computes in: the model's, or fp32 where diffusers' SDXL
  // pipelines upcast it (force_upcast in an fp16 model; see load_model_bundle).
  torch::ScalarType vae_dtype() const { return vae->decoder->conv_in->weight.scalar_type(); }

  // What the UNet predicts: "epsilon" or "v_prediction" (SD 2.x 768 models), from the
  // scheduler config (and LoadOptions::prediction, which overrides it).
  std::string prediction_type() const {
    return scheduler_config.value(QLatin1String("prediction_type")).toString(QStringLiteral("epsilon")).toStdString();
  }

  // The first text encoder and its tokenizer: the only ones of SD 1.x and 2.x.
  const text::ClipTokenizer& tokenizer() const { return *text_encoders.front().tokenizer; }
  models::CLIPTextModel& text_encoder() { return text_encoders.front().model; }
  const models::CLIPTextModel& text_encoder() const { return text_encoders.front().model; }
};

torch::Device parse_device(const std::string& name);
// "fp32", "bf16", "fp16", or "auto" (see resolve_dtype_name).
torch::ScalarType parse_dtype(const std::string& name);
// "auto" → the fastest precision for the device: bf16 on a CPU that computes it natively
// (AVX512-BF16 or AMX), fp32 on other CPUs, fp16 on CUDA. Other names are returned as given.
std::string resolve_dtype_name(const std::string& name, const std::string& device);

// The precision the VAE runs in: the model's, except fp32 for an SDXL model computing in
// fp16 whose VAE config says force_upcast (see load_model_bundle).
torch::ScalarType vae_compute_dtype(io::ModelFamily family, torch::ScalarType model_dtype, bool force_upcast);

// Whether convolution weights (and so activations) are kept channels-last for this
// device and dtype: chosen by measurement (see the benchmark notes in the report).
bool prefers_channels_last(const torch::Device& device, torch::ScalarType dtype);

// Opens the model files, builds the networks from their configs and copies the
// weights in. Throws latent::Error naming the file at fault.
std::unique_ptr<ModelBundle> load_model_bundle(const api::LoadOptions& options);

}  // namespace latent::pipeline
