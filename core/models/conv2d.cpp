#include "core/models/conv2d.h"

#include "core/models/quantized_weights.h"
#include "core/util/error.h"

namespace latent::models {

torch::Tensor conv2d(const torch::nn::Conv2d& layer, const torch::Tensor& x) {
  if (!is_quantized(*layer)) return layer.ptr()->forward(x);  // the holder is const, its module not
  const auto& o = layer->options;
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  // Only zero padding by explicit sizes is quantized (weight_loading.cpp chooses the layers).
  if (!padding || !c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()))
    throw Error("an 8-bit convolution needs explicit zero padding");
  const auto weight = compute_weight(*layer, layer->weight, x.scalar_type());
  return torch::conv2d(x, weight, layer->bias, o.stride(), **padding, o.dilation(), o.groups());
}

}  // namespace latent::models
