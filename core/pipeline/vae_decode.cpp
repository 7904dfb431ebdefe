#include "core/pipeline/vae_decode.h"

#include <algorithm>
#include <functional>

#include "core/models/norms.h"
#include "core/util/cancellation.h"
#include "core/util/cpu_allocator.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

bool is_float32(torch::ScalarType dtype) {
  return dtype == torch::kFloat32 || dtype == torch::kFloat64;
}

// The widest activation at full resolution: the last upsampler's channels.
int64_t widest_full_resolution_channels(const models::AutoencoderKLConfig& config) {
  const auto& blocks = config.block_out_channels;
  return blocks.size() > 1 ? std::max(blocks[0], blocks[1]) : blocks[0];
}

// x's dtype, device and memory layout (channels-last runs faster in oneDNN at bf16).
torch::TensorOptions layout_of(const torch::Tensor& x) {
  return x.options().memory_format(x.suggest_memory_format());
}

// Rows [begin, end) of a tensor's input to the next layer, computed on demand.
using RowSource = std::function<torch::Tensor(int64_t begin, int64_t end)>;

// Runs one layer of the high-resolution half band by band.
class BandedLayers {
 public:
  explicit BandedLayers(int64_t band_bytes) : band_bytes_(std::max<int64_t>(1, band_bytes)) {}

  // Rows per band for tensors of `channels` × `width` (batch `batch`): about four float32
  // copies of a band are alive at once (input rows, their normalised form, the output).
  int64_t rows_per_band(int64_t batch, int64_t channels, int64_t width) const {
    return std::max<int64_t>(1, band_bytes_ / std::max<int64_t>(1, 16 * batch * channels * width));
  }

  // GroupNorm of the whole of x as a per-(batch, channel) float32 scale a and shift c,
  // y = x·a + c, with statistics summed over the bands in float64.
  std::pair<torch::Tensor, torch::Tensor> norm_affine(const torch::nn::GroupNorm& norm,
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

  // SiLU(GroupNorm(x)) rows, in x's dtype.
  RowSource normalised(const torch::nn::GroupNorm& norm, const torch::Tensor& x) const {
    const auto affine = norm_affine(norm, x);
    const auto a = affine.first, c = affine.second;
    return [x, a, c](int64_t begin, int64_t end) {
      const auto rows = x.narrow(2, begin, end - begin).to(torch::kFloat32);
      auto y = torch::addcmul(c, rows, a);
      return torch::silu_(y).to(x.scalar_type());
    };
  }

  // Rows of x upsampled ×2 by nearest neighbour.
  static RowSource upsampled(const torch::Tensor& x) {
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

  // A 3×3, stride 1, padding 1 convolution of an input of `height` rows given by `input`:
  // each band of output rows reads one more input row above and below (zeros at the
  // image's edges), as the whole convolution would.
  torch::Tensor conv3x3(const torch::nn::Conv2d& conv, const RowSource& input, int64_t batch,
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

  // ResnetBlock2D without time embedding: x + conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))).
  torch::Tensor resnet(models::ResnetBlock2DImpl& block, torch::Tensor x) const {
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

  torch::Tensor up_block(models::UpDecoderBlock2DImpl& block, torch::Tensor x) const {
    for (size_t i = 0; i < block.resnets->size(); ++i)
      x = resnet(*block.resnets[i]->as<models::ResnetBlock2D>(), std::move(x));
    if (block.upsamplers->is_empty()) return x;
    auto& upsampler = *block.upsamplers[0]->as<models::Upsample2D>();
    return conv3x3(upsampler.conv, upsampled(x), x.size(0), x.size(1), 2 * x.size(2), 2 * x.size(3),
                   layout_of(x));
  }

 private:
  int64_t band_bytes_;
};

}  // namespace

int64_t estimate_vae_decode_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                  int64_t latent_height, int64_t latent_width,
                                  torch::ScalarType dtype) {
  const int64_t f = config.downscale_factor();
  const int64_t pixels = batch * latent_height * f * latent_width * f;
  const int64_t channels = widest_full_resolution_channels(config);
  const int64_t e = static_cast<int64_t>(c10::elementSize(dtype));
  // Measured: the widest full-resolution step holds the block input, the upsampled tensor
  // and the norm's float32 input and output at once.
  const int64_t per_channel = 3 * e + (is_float32(dtype) ? 0 : 8);
  return pixels * channels * per_channel;
}

int64_t estimate_vae_banded_decode_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                         int64_t latent_height, int64_t latent_width,
                                         torch::ScalarType dtype, const VaeDecodeOptions& options) {
  const int64_t f = config.downscale_factor();
  const int64_t pixels = batch * latent_height * f * latent_width * f;
  const int64_t e = static_cast<int64_t>(c10::elementSize(dtype));
  // The last up block's first resnet: its wide input, the middle and the output at once.
  const int64_t wide = widest_full_resolution_channels(config);
  const int64_t narrow = config.block_out_channels.front();
  return pixels * (wide + 2 * narrow) * e + options.band_bytes;
}

int64_t estimate_vae_decode_peak_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                       int64_t latent_height, int64_t latent_width,
                                       torch::ScalarType dtype, const VaeDecodeOptions& options) {
  const int64_t whole = estimate_vae_decode_bytes(config, batch, latent_height, latent_width, dtype);
  if (whole <= options.budget_bytes) return whole;
  return estimate_vae_banded_decode_bytes(config, batch, latent_height, latent_width, dtype, options);
}

bool vae_decode_needs_bands(const models::AutoencoderKLConfig& config, torch::IntArrayRef sizes,
                            torch::ScalarType dtype, const VaeDecodeOptions& options) {
  if (sizes.size() != 4) return false;
  return estimate_vae_decode_bytes(config, sizes[0], sizes[2], sizes[3], dtype) > options.budget_bytes;
}

torch::Tensor vae_decode(models::AutoencoderKL& vae, const torch::Tensor& latents,
                         const VaeDecodeOptions& options) {
  const auto dtype = vae->decoder->conv_in->weight.scalar_type();
  if (!vae_decode_needs_bands(vae->config(), latents.sizes(), dtype, options)) {
    // A whole decode's tensors grow level by level, so few freed blocks fit a later
    // request: a small cache keeps the reuse within a level and lowers the peak (512×512:
    // 0.18 GiB less in bf16, 0.13 GiB in fp32). A banded decode keeps the usual cache: its
    // bands reuse blocks of one size, and without them it ran 1.7 times slower.
    const util::CpuCacheLimit small_cache(128ll << 20);
    return vae->decode(latents).to(torch::kFloat32);  // [B, 3, H, W]
  }
  return vae_decode_in_bands(vae, latents, options.band_bytes);
}

torch::Tensor vae_decode_in_bands(models::AutoencoderKL& vae, const torch::Tensor& latents,
                                  int64_t band_bytes) {
  if (latents.dim() != 4 || latents.size(1) != vae->config().latent_channels)
    throw Error("VAE decode: latents must be [batch, " +
                std::to_string(vae->config().latent_channels) + ", height, width]");
  auto& decoder = *vae->decoder;
  const auto& weight = decoder.conv_in->weight;
  auto z = latents.to(weight.device(), weight.scalar_type());  // [B, latent, h, w]
  if (vae->post_quant_conv) z = vae->post_quant_conv(z);
  // The low-resolution half (conv_in, the mid block with its attention over all
  // positions) is small: it runs whole.
  auto h = decoder.mid_block(decoder.conv_in(z));  // [B, C, h, w]

  const BandedLayers layers(band_bytes);
  for (size_t i = 0; i < decoder.up_blocks->size(); ++i)
    h = layers.up_block(*decoder.up_blocks[i]->as<models::UpDecoderBlock2D>(), std::move(h));
  const auto image = layers.conv3x3(decoder.conv_out, layers.normalised(decoder.conv_norm_out, h),
                                    h.size(0), h.size(1), h.size(2), h.size(3),
                                    layout_of(h).dtype(torch::kFloat32));
  return image;  // [B, 3, H, W]
}

}  // namespace latent::pipeline
