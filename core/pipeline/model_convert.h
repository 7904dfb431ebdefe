#pragma once

// `latentstudio-cli convert --weights int8`: a model written again as a diffusers folder whose
// UNet and text encoders hold their linear and convolution weights in 8 bits, so that the next
// load maps them instead of quantizing them. Every quantized layer's `<module>.weight` is I8
// of the layer's shape and `<module>.weight_scale` F32 [out channels] (weight ≈ q·scale per
// output channel, models/quantized_weights.h); every other tensor, the VAE, the configs, the
// tokenizers and the scheduler are written as they were. Loading the folder with
// LoadOptions::weights "auto" (the default) or "int8" recognises and keeps them.

#include <functional>
#include <string>

namespace latent::pipeline {

struct ConvertOptions {
  std::string model_path;  // a diffusers folder or a single-file checkpoint
  std::string config_dir;  // configs for a single file; empty = the bundled ones of its family
  std::string weights = "int8";  // the only form written for now
  std::string out_dir;     // a new folder (refused when it exists and is not empty)
};

// Writes the folder (into a temporary one renamed into place at the end, so a failure leaves
// nothing half-written), reporting each part as it goes. Throws latent::Error naming the file.
void convert_model(const ConvertOptions& options, const std::function<void(const std::string&)>& report = {});

}  // namespace latent::pipeline
