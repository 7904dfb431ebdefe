#include "core/models/srvgg.h"

namespace latent::models {

SRVGGNetCompactImpl::SRVGGNetCompactImpl(const SRVGGConfig& c) : config(c) {
  body = register_module("body", torch::nn::ModuleList());
  body->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in_channels, c.features, 3).padding(1)));
  body->push_back(torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(c.features)));
  for (int64_t i = 0; i < c.convs; ++i) {
    body->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(c.features, c.features, 3).padding(1)));
    body->push_back(torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(c.features)));
  }
  body->push_back(torch::nn::Conv2d(
      torch::nn::Conv2dOptions(c.features, c.out_channels * c.scale * c.scale, 3).padding(1)));
}

torch::Tensor SRVGGNetCompactImpl::forward(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  torch::Tensor out = x;
  for (size_t i = 0; i < body->size(); ++i) {
    if (auto* conv = body->ptr(i)->as<torch::nn::Conv2dImpl>())
      out = conv->forward(out);
    else
      out = body->ptr(i)->as<torch::nn::PReLUImpl>()->forward(out);
  }
  out = F::pixel_shuffle(out, config.scale);
  const auto base = F::interpolate(x, F::InterpolateFuncOptions()
                                          .scale_factor(std::vector<double>(2, static_cast<double>(config.scale)))
                                          .mode(torch::kNearest)
                                          .recompute_scale_factor(false));
  return out + base;
}

}  // namespace latent::models
