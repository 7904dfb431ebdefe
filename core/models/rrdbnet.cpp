#include "core/models/rrdbnet.h"

namespace latent::models {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d conv3x3(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
}

torch::Tensor lrelu(const torch::Tensor& x) { return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)); }

torch::Tensor upsample2(const torch::Tensor& x) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .scale_factor(std::vector<double>{2.0, 2.0})
                               .mode(torch::kNearest)
                               .recompute_scale_factor(false));
}

}  // namespace

ResidualDenseBlockImpl::ResidualDenseBlockImpl(int64_t nf, int64_t gc) {
  conv1 = register_module("conv1", conv3x3(nf, gc));
  conv2 = register_module("conv2", conv3x3(nf + gc, gc));
  conv3 = register_module("conv3", conv3x3(nf + 2 * gc, gc));
  conv4 = register_module("conv4", conv3x3(nf + 3 * gc, gc));
  conv5 = register_module("conv5", conv3x3(nf + 4 * gc, nf));
}

torch::Tensor ResidualDenseBlockImpl::forward(const torch::Tensor& x) {
  const auto x1 = lrelu(conv1(x));
  const auto x2 = lrelu(conv2(torch::cat({x, x1}, 1)));
  const auto x3 = lrelu(conv3(torch::cat({x, x1, x2}, 1)));
  const auto x4 = lrelu(conv4(torch::cat({x, x1, x2, x3}, 1)));
  const auto x5 = conv5(torch::cat({x, x1, x2, x3, x4}, 1));
  return x5 * 0.2 + x;
}

RRDBImpl::RRDBImpl(int64_t nf, int64_t gc) {
  rdb1 = register_module("rdb1", ResidualDenseBlock(nf, gc));
  rdb2 = register_module("rdb2", ResidualDenseBlock(nf, gc));
  rdb3 = register_module("rdb3", ResidualDenseBlock(nf, gc));
}

torch::Tensor RRDBImpl::forward(const torch::Tensor& x) { return rdb3(rdb2(rdb1(x))) * 0.2 + x; }

RRDBNetImpl::RRDBNetImpl(const RRDBNetConfig& c) : config(c) {
  const int64_t unshuffle = c.scale == 2 ? 4 : c.scale == 1 ? 16 : 1;
  conv_first = register_module("conv_first", conv3x3(c.in_channels * unshuffle, c.features));
  body = register_module("body", torch::nn::Sequential());
  for (int64_t i = 0; i < c.blocks; ++i) body->push_back(RRDB(c.features, c.growth));
  conv_body = register_module("conv_body", conv3x3(c.features, c.features));
  conv_up1 = register_module("conv_up1", conv3x3(c.features, c.features));
  conv_up2 = register_module("conv_up2", conv3x3(c.features, c.features));
  conv_hr = register_module("conv_hr", conv3x3(c.features, c.features));
  conv_last = register_module("conv_last", conv3x3(c.features, c.out_channels));
}

torch::Tensor RRDBNetImpl::forward(const torch::Tensor& x) {
  torch::Tensor feat = x;
  if (config.scale == 2) feat = F::pixel_unshuffle(x, 2);
  if (config.scale == 1) feat = F::pixel_unshuffle(x, 4);
  feat = conv_first(feat);
  feat = feat + conv_body(body->forward(feat));
  feat = lrelu(conv_up1(upsample2(feat)));
  feat = lrelu(conv_up2(upsample2(feat)));
  return conv_last(lrelu(conv_hr(feat)));
}

int64_t RRDBNetImpl::receptive_radius() const {
  // At the body's resolution: conv_first, 15 per block, conv_body; then conv_up1 at ×2 and
  // three more at ×4 add fractions of an input pixel (rounded up). The unshuffle of ×2 and
  // ×1 models makes each body pixel 4 / scale input pixels wide.
  const int64_t body_convs = 2 + 15 * config.blocks + 1;
  return body_convs * (4 / config.scale);
}

}  // namespace latent::models
