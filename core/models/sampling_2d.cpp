// diffusers models/downsampling.py Downsample2D and upsampling.py Upsample2D (use_conv=True).
#include "core/models/sampling_2d.h"

#include <algorithm>

#include "core/models/conv2d.h"
#include "core/models/quantized_weights.h"
#include "core/util/error.h"
#include "core/util/weight_edits.h"

namespace latent::models {

namespace F = torch::nn::functional;

Downsample2DImpl::Downsample2DImpl(int64_t channels, int64_t padding_) : padding(padding_) {
  if (padding < 0)
    throw Error("Downsample2D: padding must be 0 or more, got " + std::to_string(padding));
  conv = register_module(
      "conv", torch::nn::Conv2d(
                  torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(padding)));
}

torch::Tensor Downsample2DImpl::forward(const torch::Tensor& x) {
  if (padding == 0)
    return conv2d(conv, F::pad(x, F::PadFuncOptions({0, 1, 0, 1}).mode(torch::kConstant).value(0)));
  return conv2d(conv, x);
}

Upsample2DImpl::Upsample2DImpl(int64_t channels) {
  conv = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1)));
}

namespace {

// Below this many small-image pixels (batch × height × width) the folded convolution's
// four-times-larger weight costs more to bring in than its fewer products save (measured on
// the UNet's 8×8 latents of a 512² picture: 28 ms folded against 22 ms).
constexpr int64_t kMinFoldedPixels = 512;

// The folded weights are kept beside the layer's own, 16/9 of its size: up to this size,
// which takes in the VAE's (8 MB at 512 channels in bf16) and the SD UNet's at 640
// channels (13 MB) but not those at 1280 (50 MB each; a hires fix's peak would grow by a
// tenth of a GB for 2% of a step).
constexpr int64_t kMostFoldedWeightBytes = 16ll << 20;

// The most memory the four parities' results take at once: the doubled image the plain way
// makes is the size of the output (256 MB for the last upsampling of a 1024² decode).
constexpr int64_t kFoldedBandBytes = 32ll << 20;

// Taps of a 3-tap axis for the output parity p: rows i-1, i of the small image for p = 0
// (taps 0 and 1+2), rows i, i+1 for p = 1 (taps 0+1 and 2).
torch::Tensor fold_axis(const torch::Tensor& w, int64_t parity, int64_t dim) {
  const auto tap = [&](int64_t k) { return w.narrow(dim, k, 1); };
  return parity == 0 ? torch::cat({tap(0), tap(1) + tap(2)}, dim)
                     : torch::cat({tap(0) + tap(1), tap(2)}, dim);
}

}  // namespace

Upsample2DImpl::Source Upsample2DImpl::Source::of(const torch::Tensor& t) {
  if (!t.defined()) return {};
  return {t.storage(), t.data_ptr(), t.is_inference() ? 0u : t._version()};
}

// The same memory (held, so not reused), at the same place, of the same version.
bool Upsample2DImpl::Source::matches(const torch::Tensor& t) const {
  if (!t.defined()) return !storage;
  return storage && t.storage().is_alias_of(storage) && t.data_ptr() == data &&
         (t.is_inference() ? 0u : t._version()) == version;
}

bool Upsample2DImpl::Folded::made_from(const torch::Tensor& w, const torch::Tensor& b,
                                       const torch::Tensor& like) const {
  return weight.defined() && edits == util::weight_edit_count() &&
         weight.scalar_type() == like.scalar_type() && weight.device() == like.device() &&
         weight_source.matches(w) && bias_source.matches(b);
}

torch::Tensor Upsample2DImpl::folded_doubling(const torch::Tensor& x) {
  const auto& weight = conv->weight;
  torch::Tensor w4, b4;
  {
    std::lock_guard<std::mutex> lock(folded_mutex_);
    if (!folded_.made_from(weight, conv->bias, x)) {
      // Summed in float32 at least, rounded once to the input's type.
      const auto sum_type =
          weight.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
      const auto w = weight.to(x.device(), sum_type);
      std::vector<torch::Tensor> parts;
      for (int64_t a = 0; a < 2; ++a)
        for (int64_t b = 0; b < 2; ++b) parts.push_back(fold_axis(fold_axis(w, a, 2), b, 3));
      folded_.weight =
          torch::cat(parts, 0).to(x.scalar_type()).contiguous(x.suggest_memory_format());
      folded_.bias = conv->bias.defined() ? conv->bias.to(x.device(), x.scalar_type()).repeat({4})
                                          : torch::Tensor();
      folded_.weight_source = Source::of(weight);
      folded_.bias_source = Source::of(conv->bias);
      folded_.edits = util::weight_edit_count();
    }
    w4 = folded_.weight;
    b4 = folded_.bias;
  }
  const int64_t batch = x.size(0), channels = weight.size(0), height = x.size(2), width = x.size(3);
  auto out = torch::empty({batch, channels, 2 * height, 2 * width},
                          x.options().memory_format(x.suggest_memory_format()));
  // Output row p of a 2×2 convolution over the small image padded by one covers small rows
  // p-1 and p: row i of parity 0 is p = i, of parity 1 p = i + 1. A band of small rows
  // [r, r+n) needs p in [r, r+n], from small rows r-1 .. r+n, zero outside the image. The
  // four-parity result of a whole large picture would be as large as the output; bands keep
  // it within a budget, at the price of one row computed twice per band.
  const int64_t row_bytes = batch * 4 * channels * (width + 1) * x.element_size();
  const int64_t rows =
      std::clamp<int64_t>(kFoldedBandBytes / std::max<int64_t>(1, row_bytes), 1, height);
  using torch::indexing::None;
  using torch::indexing::Slice;
  for (int64_t r = 0; r < height; r += rows) {
    const int64_t n = std::min(rows, height - r);
    torch::Tensor four;  // [B, 4·C, n+1, W+1]
    if (n == height) {
      four = torch::conv2d(x, w4, b4, 1, 1);
    } else {
      const int64_t first = std::max<int64_t>(r - 1, 0), last = std::min(r + n, height - 1);
      const auto band = torch::constant_pad_nd(x.narrow(2, first, last - first + 1),
                                               {0, 0, r == 0 ? 1 : 0, r + n >= height ? 1 : 0});
      four = torch::conv2d(band, w4, b4, 1, at::IntArrayRef{0, 1});
    }
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t b = 0; b < 2; ++b)
        out.index({Slice(), Slice(), Slice(2 * r + a, 2 * (r + n), 2), Slice(b, None, 2)})
            .copy_(four.narrow(1, (2 * a + b) * channels, channels)
                       .narrow(2, a, n)
                       .narrow(3, b, width));
  }
  return out;
}

torch::Tensor Upsample2DImpl::forward(const torch::Tensor& x,
                                      std::optional<std::vector<int64_t>> output_size) {
  const bool doubling =
      !output_size || (output_size->size() == 2 && (*output_size)[0] == 2 * x.size(2) &&
                       (*output_size)[1] == 2 * x.size(3));
  const bool training =
      torch::GradMode::is_enabled() && (x.requires_grad() || conv->weight.requires_grad());
  const int64_t folded_bytes = 16 * conv->weight.numel() / 9 * x.element_size();
  if (doubling && !training && !is_quantized(*conv) && folded_bytes <= kMostFoldedWeightBytes &&
      x.size(0) * x.size(2) * x.size(3) >= kMinFoldedPixels)
    return folded_doubling(x);
  return upsample_then_convolve(x, std::move(output_size));
}

torch::Tensor Upsample2DImpl::upsample_then_convolve(
    const torch::Tensor& x, std::optional<std::vector<int64_t>> output_size) {
  auto opts = F::InterpolateFuncOptions().mode(torch::kNearest);
  if (output_size)
    opts.size(*output_size);
  else
    opts.scale_factor(std::vector<double>{2.0, 2.0});
  torch::Tensor h;
  try {
    h = F::interpolate(x, opts);  // [B, C, H', W'], same memory layout as x
  } catch (const c10::Error&) {
    // Some LibTorch CPU builds lack nearest upsampling of half types; it is a pure copy,
    // so a float32 round trip is exact.
    h = F::interpolate(x.to(torch::kFloat32), opts).to(x.scalar_type());
  }
  return conv2d(conv, h);
}

}  // namespace latent::models
