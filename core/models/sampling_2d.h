#pragma once

// diffusers models/downsampling.py Downsample2D and upsampling.py Upsample2D (use_conv=True).

#include <torch/torch.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace latent::models {

// 3x3 convolution with stride 2. padding 1 (UNet) pads symmetrically inside the conv;
// padding 0 (VAE) pads right/bottom by one first, as diffusers does.
struct Downsample2DImpl : torch::nn::Module {
  Downsample2DImpl(int64_t channels, int64_t padding);
  torch::Tensor forward(const torch::Tensor& x);  // [B, C, H, W] -> [B, C, ~H/2, ~W/2]

  int64_t padding;
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Downsample2D);

// Nearest-neighbour upsampling (x2, or to `output_size` = {H, W}) then a 3x3 convolution.
//
// Doubling by nearest neighbour repeats each pixel in a 2×2 square, so the 3×3 taps over a
// doubled image fall on only 2×2 source pixels, which ones depending on the output pixel's
// row and column parity. Summing the taps that share a source pixel turns the pair into
// four 2×2 convolutions of the small image, one per parity: 4 multiply-adds per input
// channel and output pixel instead of 9, and no doubled image in memory. The four run as one
// convolution with four times the output channels; its results are interleaved into place.
// The sums change only the rounding (float32 results within a few units in the last
// place); the folded weights are made once and kept while the weight is unchanged.
struct Upsample2DImpl : torch::nn::Module {
  explicit Upsample2DImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x,
                        std::optional<std::vector<int64_t>> output_size = std::nullopt);

  torch::nn::Conv2d conv{nullptr};

 private:
  torch::Tensor upsample_then_convolve(const torch::Tensor& x,
                                       std::optional<std::vector<int64_t>> output_size);
  torch::Tensor folded_doubling(const torch::Tensor& x);

  // The folded weights [4·C, C, 2, 2] and bias [4·C], and the memory of the weight and bias
  // they were made from, held so that it cannot be reused for another weight meanwhile
  // (a LoRA swaps a layer's weight memory), with its version and the count of weight edits
  // (in-place changes; core/util/weight_edits.h).
  struct Source {
    c10::Storage storage;
    const void* data = nullptr;
    uint32_t version = 0;
    static Source of(const torch::Tensor& t);
    bool matches(const torch::Tensor& t) const;
  };
  struct Folded {
    torch::Tensor weight, bias;
    Source weight_source, bias_source;
    uint64_t edits = 0;
    bool made_from(const torch::Tensor& w, const torch::Tensor& b, const torch::Tensor& like) const;
  };
  Folded folded_;
  std::mutex folded_mutex_;
};
TORCH_MODULE(Upsample2D);

}  // namespace latent::models
