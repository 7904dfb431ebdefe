#include "core/pipeline/banded_layers.h"

#include <algorithm>

#include "core/models/norms.h"
#include "core/util/cancellation.h"

namespace latent::pipeline {

torch::TensorOptions layout_of(const torch::Tensor& x) { return x.options().memory_format(x.suggest_memory_format()); }

RowSource rows_of(const torch::Tensor& x) {
  return [x](int64_t begin, int64_t end) { return x.narrow(2, begin, end - begin); };
}

int64_t BandedLayers::rows_per_band(int64_t batch, int64_t channels, int64_t width) const {
  return std::max<int64_t>(1, band_bytes_ / std::max<int64_t>(1, 16 * batch * channels * width));
}

std::pair<torch::Tensor, torch::Tensor> BandedLayers::norm_affine(const torch::nn::GroupNorm& norm,
                                                                const torch::Tensor& x) const {
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t groups = norm->options.num_groups();
  const auto stats = torch::TensorOptions().dtype(torch::kFloat64).device(x.device());
  auto sum = torch::zeros({batch, channels}, stats), squares = torch::zeros({batch, channels}, stats);
  const int64_t rows = rows_per_band(batch, channels, width);
  for (int64_t r = 0; r < height; r += rows) {
    const auto band = x.narrow(2, r, std::min(rows, height - r)).to(torch::kFloat32);
    sum += band.sum({2, 3}, false, torch::kFloat64);
    squares += (band * band).sum({2, 3}, false, torch::kFloat64);
  }
  const double count = static_cast<double>(channels / groups * height * width);
  const auto mean = sum.view({batch, groups, -1}).sum(-1) / count;  // [B, G]
  const auto var = (squares.view({batch, groups, -1}).sum(-1) / count - mean * mean).clamp_min(0);
  const auto rstd = (var + norm->options.eps()).rsqrt();
  const int64_t per_group = channels / groups;
  const auto channel_rstd = rstd.repeat_interleave(per_group, 1);  // [B, C]
  const auto channel_mean = mean.repeat_interleave(per_group, 1);
  auto w = norm->weight.defined() ? norm->weight.to(stats) : torch::ones({channels}, stats);
  auto b = norm->bias.defined() ? norm->bias.to(stats) : torch::zeros({channels}, stats);
  const auto a = channel_rstd * w;
  const auto c = b - channel_mean * a;
  return {a.to(torch::kFloat32).view({batch, channels, 1, 1}),
          c.to(torch::kFloat32).view({batch, channels, 1, 1})};
}

RowSource BandedLayers::normalised(const torch::nn::GroupNorm& norm, const torch::Tensor& x) const {
  const auto affine = norm_affine(norm, x);
  const auto a = affine.first, c = affine.second;
  return [x, a, c](int64_t begin, int64_t end) {
    const auto rows = x.narrow(2, begin, end - begin).to(torch::kFloat32);
    auto y = torch::addcmul(c, rows, a);
    return torch::silu_(y).to(x.scalar_type());
  };
}

RowSource BandedLayers::upsampled(const torch::Tensor& x) {
  return [x](int64_t begin, int64_t end) {
    const int64_t first = begin / 2, last = (end + 1) / 2;  // source rows [first, last)
    const auto source = x.narrow(2, first, last - first);
    torch::Tensor up;
    try {
      up = torch::upsample_nearest2d(source, {2 * source.size(2), 2 * source.size(3)});
    } catch (const c10::Error&) {  // no half-precision kernel in some CPU builds; exact anyway
      up = torch::upsample_nearest2d(source.to(torch::kFloat32), {2 * source.size(2), 2 * source.size(3)})
               .to(x.scalar_type());
    }
    return up.narrow(2, begin - 2 * first, end - begin);
  };
}

torch::Tensor BandedLayers::conv3x3(const torch::nn::Conv2d& conv, const RowSource& input, int64_t batch,
                                    int64_t in_channels, int64_t height, int64_t width,
                                    const torch::TensorOptions& options) const {
  const auto& weight = conv->weight;
  auto out = torch::empty({batch, weight.size(0), height, width}, options);  // layout of `options`
  const int64_t rows = rows_per_band(batch, std::max(in_channels, weight.size(0)), width);
  for (int64_t r = 0; r < height; r += rows) {
    cancellation_point();
    const int64_t n = std::min(rows, height - r);
    const int64_t begin = std::max<int64_t>(0, r - 1), end = std::min(height, r + n + 1);
    auto band = input(begin, end);
    const int64_t pad_top = (r == 0) ? 1 : 0, pad_bottom = (r + n == height) ? 1 : 0;
    if (pad_top || pad_bottom) band = torch::constant_pad_nd(band, {0, 0, pad_top, pad_bottom});
    out.narrow(2, r, n).copy_(torch::conv2d(band, weight, conv->bias, 1, at::IntArrayRef{0, 1}));
  }
  return out;
}

torch::Tensor BandedLayers::resnet(models::ResnetBlock2DImpl& block, torch::Tensor x) const {
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t out_channels = block.conv1->weight.size(0);
  const auto like_x = layout_of(x);
  auto h = conv3x3(block.conv1, normalised(block.norm1, x), batch, channels, height, width, like_x);
  auto out = conv3x3(block.conv2, normalised(block.norm2, h), batch, out_channels, height, width, like_x);
  h = torch::Tensor();
  const int64_t rows = rows_per_band(batch, std::max(channels, out_channels), width);
  for (int64_t r = 0; r < height; r += rows) {
    const int64_t n = std::min(rows, height - r);
    const auto skip = x.narrow(2, r, n);
    out.narrow(2, r, n).add_(block.conv_shortcut ? block.conv_shortcut->forward(skip) : skip);
  }
  if (block.options.output_scale_factor != 1.0) out.div_(block.options.output_scale_factor);
  return out;
}

torch::Tensor BandedLayers::up_block(models::UpDecoderBlock2DImpl& block, torch::Tensor x) const {
  for (size_t i = 0; i < block.resnets->size(); ++i)
    x = resnet(*block.resnets[i]->as<models::ResnetBlock2D>(), std::move(x));
  if (block.upsamplers->is_empty()) return x;
  auto& upsampler = *block.upsamplers[0]->as<models::Upsample2D>();
  return conv3x3(upsampler.conv, upsampled(x), x.size(0), x.size(1), 2 * x.size(2), 2 * x.size(3),
                 layout_of(x));
}

torch::Tensor BandedLayers::downsample(models::Downsample2DImpl& down, const torch::Tensor& x) const {
  if (down.padding != 0) return down.forward(x);  // not an SD VAE's: no bands
  const auto& weight = down.conv->weight;
  const int64_t batch = x.size(0), in_channels = x.size(1), height = x.size(2), width = x.size(3);
  // Output sides of a stride-2 3×3 convolution over the input padded by one at the end.
  const int64_t out_height = (height - 2) / 2 + 1, out_width = (width - 2) / 2 + 1;
  auto out = torch::empty({batch, weight.size(0), out_height, out_width}, layout_of(x));
  const int64_t rows = std::max<int64_t>(1, rows_per_band(batch, std::max(in_channels, weight.size(0)), width) / 2);
  for (int64_t r = 0; r < out_height; r += rows) {
    cancellation_point();
    const int64_t n = std::min(rows, out_height - r);
    const int64_t begin = 2 * r, wanted_end = 2 * (r + n - 1) + 3, end = std::min(height, wanted_end);
    const auto band = torch::constant_pad_nd(x.narrow(2, begin, end - begin), {0, 1, 0, wanted_end - end});
    out.narrow(2, r, n).copy_(torch::conv2d(band, weight, down.conv->bias, at::IntArrayRef{2, 2}, at::IntArrayRef{0, 0}));
  }
  return out;
}

torch::Tensor BandedLayers::down_block(models::DownEncoderBlock2DImpl& block, torch::Tensor x) const {
  for (size_t i = 0; i < block.resnets->size(); ++i)
    x = resnet(*block.resnets[i]->as<models::ResnetBlock2D>(), std::move(x));
  if (block.downsamplers->is_empty()) return x;
  return downsample(*block.downsamplers[0]->as<models::Downsample2D>(), x);
}

}  // namespace latent::pipeline
