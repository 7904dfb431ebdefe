#pragma once

// diffusers models/unets/unet_2d_blocks.py: CrossAttnDownBlock2D, DownBlock2D,
// UNetMidBlock2DCrossAttn, UpBlock2D, CrossAttnUpBlock2D.

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "core/models/resnet_block_2d.h"
#include "core/models/sampling_2d.h"
#include "core/models/transformer_2d.h"

namespace latent::models {

struct UNetBlockOptions {
  int64_t in_channels = 320;
  int64_t out_channels = 320;
  int64_t prev_output_channels = 320;  // up blocks: channels coming from the block below
  int64_t temb_channels = 1280;
  int64_t num_layers = 2;   // resnets (up blocks: layers_per_block + 1)
  bool add_sampler = true;  // downsampler / upsampler at the end
  double resnet_eps = 1e-5;
  int64_t resnet_groups = 32;
  double output_scale_factor = 1.0;
  int64_t downsample_padding = 1;
  // Cross-attention blocks only.
  int64_t transformer_layers = 1;
  int64_t num_heads = 8;
  int64_t cross_attention_dim = 768;
  bool use_linear_projection = false;
  bool only_cross_attention = false;
  bool upcast_attention = false;
};

// A block's layer is one resnet and, in the cross-attention blocks, the transformer after it.
// The step cache (core/pipeline/step_cache.h) runs some layers of a block alone.

// A down block pushes one skip tensor per layer, and one after its downsampler.
struct UNetDownBlock : torch::nn::Module {
  virtual int64_t num_layers() const = 0;
  // Layers 0 .. count−1, each pushing its output to `skips`; no downsampler.
  virtual torch::Tensor forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                                       const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                                       int64_t count) = 0;
  // Every layer, then the downsampler.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb, const torch::Tensor& context,
                        std::vector<torch::Tensor>& skips);

 protected:
  Downsample2D downsampler_{nullptr};
};

// An up block pops one skip tensor per layer from the back of `skips`; its upsampler
// scales x2, or to `upsample_size` ({H, W}) when given.
struct UNetUpBlock : torch::nn::Module {
  virtual int64_t num_resnets() const = 0;
  // Layers first .. end−1 on x, the input of layer `first`; no upsampler.
  virtual torch::Tensor forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                                       const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                                       int64_t first, int64_t end) = 0;
  // Every layer, then the upsampler.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb, const torch::Tensor& context,
                        std::vector<torch::Tensor>& skips,
                        const std::optional<std::vector<int64_t>>& upsample_size);
  // The upsampler alone (x itself when the block has none).
  torch::Tensor upsample(const torch::Tensor& x, const std::optional<std::vector<int64_t>>& upsample_size);

 protected:
  Upsample2D upsampler_{nullptr};
};

class DownBlock2D : public UNetDownBlock {
 public:
  explicit DownBlock2D(const UNetBlockOptions& options);
  int64_t num_layers() const override { return static_cast<int64_t>(resnets_.size()); }
  torch::Tensor forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                               const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                               int64_t count) override;

 private:
  std::vector<ResnetBlock2D> resnets_;
};

class CrossAttnDownBlock2D : public UNetDownBlock {
 public:
  explicit CrossAttnDownBlock2D(const UNetBlockOptions& options);
  int64_t num_layers() const override { return static_cast<int64_t>(resnets_.size()); }
  torch::Tensor forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                               const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                               int64_t count) override;

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;
};

class UpBlock2D : public UNetUpBlock {
 public:
  explicit UpBlock2D(const UNetBlockOptions& options);
  int64_t num_resnets() const override { return static_cast<int64_t>(resnets_.size()); }
  torch::Tensor forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                               const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                               int64_t first, int64_t end) override;

 private:
  std::vector<ResnetBlock2D> resnets_;
};

class CrossAttnUpBlock2D : public UNetUpBlock {
 public:
  explicit CrossAttnUpBlock2D(const UNetBlockOptions& options);
  int64_t num_resnets() const override { return static_cast<int64_t>(resnets_.size()); }
  torch::Tensor forward_layers(const torch::Tensor& x, const torch::Tensor& temb,
                               const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                               int64_t first, int64_t end) override;

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;
};

// resnet, then (transformer, resnet) × num_layers, all at in_channels.
class UNetMidBlock2DCrossAttn : public torch::nn::Module {
 public:
  explicit UNetMidBlock2DCrossAttn(const UNetBlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb,
                        const torch::Tensor& context);

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;
};

}  // namespace latent::models
