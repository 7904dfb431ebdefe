#pragma once

// diffusers models/transformers/transformer_2d.py Transformer2DModel (continuous input) with
// attention.py BasicTransformerBlock (layer_norm, GEGLU) and attention_processor.py Attention.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace latent::models {

// Multi-head attention with to_q/to_k/to_v (no bias) and to_out.0 (bias).
// Key/value come from `context` when given (cross-attention), else from x.
struct CrossAttentionImpl : torch::nn::Module {
  CrossAttentionImpl(int64_t query_dim, int64_t context_dim, int64_t heads, int64_t head_dim,
                     bool upcast_attention);
  // [B, N, C]; `residual` ([B, N, C]), when given, is added to the result by its last product.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {},
                        const torch::Tensor& residual = {});

  int64_t heads;
  int64_t head_dim;
  bool upcast_attention;
  torch::nn::Linear to_q{nullptr};
  torch::nn::Linear to_k{nullptr};
  torch::nn::Linear to_v{nullptr};
  torch::nn::ModuleList to_out{nullptr};  // [0]: Linear (1 would be dropout)
  torch::nn::Linear to_out_0{nullptr};    // the same Linear, typed
};
TORCH_MODULE(CrossAttention);

// GEGLU: proj to 2·inner, h · gelu(gate) with the exact (erf) GELU.
struct GEGLUImpl : torch::nn::Module {
  GEGLUImpl(int64_t dim_in, int64_t dim_out);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(GEGLU);

// FeedForward: net.0 = GEGLU, net.1 = dropout (no weights), net.2 = Linear.
struct FeedForwardImpl : torch::nn::Module {
  FeedForwardImpl(int64_t dim, int64_t inner_dim);
  // `residual`, when given, is added to the result by the last product.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual = {});

  torch::nn::ModuleList net{nullptr};
  GEGLU geglu{nullptr};
  torch::nn::Linear out{nullptr};
};
TORCH_MODULE(FeedForward);

struct BasicTransformerBlockImpl : torch::nn::Module {
  BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t head_dim,
                            int64_t cross_attention_dim, bool only_cross_attention,
                            bool upcast_attention);
  // x: [B, N, dim]; context: [B, 77, cross_attention_dim].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

  bool only_cross_attention;
  torch::nn::LayerNorm norm1{nullptr};
  CrossAttention attn1{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  CrossAttention attn2{nullptr};
  torch::nn::LayerNorm norm3{nullptr};
  FeedForward ff{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

struct Transformer2DOptions {
  int64_t heads = 8;
  int64_t head_dim = 40;
  int64_t in_channels = 320;
  int64_t num_layers = 1;
  int64_t cross_attention_dim = 768;
  int64_t norm_num_groups = 32;
  bool use_linear_projection = false;
  bool only_cross_attention = false;
  bool upcast_attention = false;
};

struct Transformer2DModelImpl : torch::nn::Module {
  explicit Transformer2DModelImpl(const Transformer2DOptions& options);
  // x: [B, C, H, W]; context: [B, 77, D]. Returns [B, C, H, W] (residual included).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

  Transformer2DOptions options;
  torch::nn::GroupNorm norm{nullptr};
  torch::nn::Conv2d proj_in_conv{nullptr};    // registered as proj_in unless linear projection
  torch::nn::Linear proj_in_linear{nullptr};  // registered as proj_in with linear projection
  torch::nn::ModuleList transformer_blocks{nullptr};
  std::vector<BasicTransformerBlock> blocks;
  torch::nn::Conv2d proj_out_conv{nullptr};
  torch::nn::Linear proj_out_linear{nullptr};
};
TORCH_MODULE(Transformer2DModel);

}  // namespace latent::models
