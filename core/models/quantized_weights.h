#pragma once

// 8-bit weights with one scale per output channel (symmetric, no zero point): a layer keeps
// its `weight` parameter as int8 values q and a float32 buffer `weight_scale` s of one entry
// per output channel, and computes with q·s in the input's precision, dequantized just
// before each product (linear.h, conv2d.h) and dropped after it. Memory is what shrinks:
// half of bf16, a quarter of fp32.
//
// The same names are the file format `latentstudio-cli convert --weights int8` writes: a
// layer's `<module>.weight` as I8 of the layer's shape and `<module>.weight_scale` as F32 of
// [out channels], beside every other tensor as it was.

#include <torch/torch.h>

#include <string>

namespace latent::models {

// The buffer name of a layer's per-channel scales, and the suffix of its key in a file.
inline constexpr const char* kWeightScaleName = "weight_scale";

struct QuantizedWeight {
  torch::Tensor values;  // int8, the weight's shape and memory layout, in [-127, 127]
  torch::Tensor scale;   // float32 [out channels]
};

// s_o = max |w_o| / 127 over output channel o, q = round(w / s): every weight comes back
// within s_o / 2 of its value. A channel of zeros gets scale 0.
QuantizedWeight quantize_per_channel(const torch::Tensor& weight);

// q·s in `dtype` (bf16 or fp32 on the CPU through one pass; any on other devices), in the
// memory layout of `values`.
torch::Tensor dequantize_per_channel(const torch::Tensor& values, const torch::Tensor& scale,
                                     torch::ScalarType dtype);

// Whether `layer` (a Linear or Conv2d) holds 8-bit weights.
bool is_quantized(const torch::nn::Module& layer);

// The weight `layer` computes with in `dtype`: `weight` itself, or dequantized when it is
// the layer's 8-bit weight.
torch::Tensor compute_weight(const torch::nn::Module& layer, const torch::Tensor& weight,
                             torch::ScalarType dtype);

// Makes `layer`'s parameter `weight` an (uninitialised) int8 tensor of its shape and memory
// layout, and gives the layer a `weight_scale` buffer of [out channels] float32, both to be
// filled by a load.
void make_quantized(torch::nn::Module& layer, torch::Tensor weight);

// The weight of a Linear or Conv2d module; nullptr for any other module.
torch::Tensor* layer_weight(torch::nn::Module& module);

}  // namespace latent::models
