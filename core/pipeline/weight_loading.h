#pragma once

// How a model holds its UNet's and text encoders' linear and convolution weights: "full"
// (in the compute precision) or "int8" (8 bits with a scale per output channel,
// models/quantized_weights.h), and bringing a file's tensors into that form while they load:
// full weights are quantized, and the 8-bit ones `latentstudio-cli convert --weights int8`
// writes are taken as they are (or dequantized for a full load).

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/io/state_dict.h"

namespace latent::pipeline {

// Checks a LoadOptions::weights name: "auto", "full" or "int8". Throws latent::Error otherwise.
void check_weights_name(const std::string& name);

// The form a load gives the weights: "int8" or "full"; "auto" is "int8" when the files hold
// 8-bit weights (`files_hold_int8`), else "full".
std::string resolve_weights(const std::string& name, bool files_hold_int8);

// Whether a component's tensors include 8-bit weights (a `.weight_scale` beside them).
bool holds_int8_weights(const io::TensorMap& tensors);

// Refuses a component's malformed 8-bit tensors, naming `source` and the tensor: an int8
// `X.weight` without `X.weight_scale`, a scale without an int8 `X.weight`, a scale that is not
// one finite, non-negative float per output channel of its weight.
void check_int8_tensors(const io::TensorMap& tensors, const std::string& source);

// The modules held in 8 bits with --weights int8: every Linear and Conv2d that the forward
// passes reach through models::linear and models::conv2d (the UNet's down, middle and up
// blocks; the text encoder's layers and projection). The UNet's first and last convolutions
// and its embeddings stay full: small, and the UNet reads its precision from conv_in.
const std::vector<std::string>& unet_int8_modules();
const std::vector<std::string>& text_encoder_int8_modules();

// Brings `part` (the file tensors of `piece`, found at `prefix` in its component) into the
// form `piece` is to hold: each Linear and Conv2d whose path starts with one of `int8_modules`
// is made 8-bit (its weight quantized unless the file holds it so); 8-bit file tensors of the
// other layers are dequantized to float32.
void prepare_weight_forms(torch::nn::Module& piece, const std::string& prefix, io::TensorMap& part,
                          const std::vector<std::string>& int8_modules);

}  // namespace latent::pipeline
