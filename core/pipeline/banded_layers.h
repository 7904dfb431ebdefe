#pragma once

// The VAE's full-resolution layers computed in bands of rows, exactly: each band reads its
// neighbours' rows as a convolution would, and the group norms use the whole tensor's
// statistics, so the result is the whole layer's while only one band's temporaries exist
// beside the layer's input and output. The decoder's high-resolution half (vae_decode.h)
// and the encoder's (vae_encode.h) are built of these.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <utility>

#include "core/models/sampling_2d.h"
#include "core/models/vae_blocks.h"

namespace latent::pipeline {

// x's dtype, device and memory layout (channels-last runs faster in oneDNN at bf16).
torch::TensorOptions layout_of(const torch::Tensor& x);

// Rows [begin, end) of a tensor's input to the next layer, computed on demand.
using RowSource = std::function<torch::Tensor(int64_t begin, int64_t end)>;

// Rows of a tensor as they are.
RowSource rows_of(const torch::Tensor& x);

class BandedLayers {
 public:
  explicit BandedLayers(int64_t band_bytes) : band_bytes_(std::max<int64_t>(1, band_bytes)) {}

  // Rows per band for tensors of `channels` × `width` (batch `batch`): about four float32
  // copies of a band are alive at once (input rows, their normalised form, the output).
  int64_t rows_per_band(int64_t batch, int64_t channels, int64_t width) const;

  // GroupNorm of the whole of x as a per-(batch, channel) float32 scale a and shift c,
  // y = x·a + c, with statistics summed over the bands in float64.
  std::pair<torch::Tensor, torch::Tensor> norm_affine(const torch::nn::GroupNorm& norm, const torch::Tensor& x) const;

  // SiLU(GroupNorm(x)) rows, in x's dtype.
  RowSource normalised(const torch::nn::GroupNorm& norm, const torch::Tensor& x) const;

  // Rows of x upsampled ×2 by nearest neighbour.
  static RowSource upsampled(const torch::Tensor& x);

  // A 3×3, stride 1, padding 1 convolution of an input of `height` rows given by `input`:
  // each band of output rows reads one more input row above and below (zeros at the
  // image's edges), as the whole convolution would.
  torch::Tensor conv3x3(const torch::nn::Conv2d& conv, const RowSource& input, int64_t batch, int64_t in_channels,
                        int64_t height, int64_t width, const torch::TensorOptions& options) const;

  // ResnetBlock2D without time embedding: x + conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))).
  torch::Tensor resnet(models::ResnetBlock2DImpl& block, torch::Tensor x) const;

  // The decoder's up block: its resnets, then nearest ×2 and a 3×3 convolution.
  torch::Tensor up_block(models::UpDecoderBlock2DImpl& block, torch::Tensor x) const;

  // Downsample2D as the VAE's encoder has it (padding 0): one zero row and column added at
  // the bottom and right, then a 3×3 convolution with stride 2; band by band, each band of
  // output rows reading the 2n + 1 input rows under it.
  torch::Tensor downsample(models::Downsample2DImpl& down, const torch::Tensor& x) const;

  // The encoder's down block: its resnets, then the downsampler.
  torch::Tensor down_block(models::DownEncoderBlock2DImpl& block, torch::Tensor x) const;

 private:
  int64_t band_bytes_;
};

}  // namespace latent::pipeline
