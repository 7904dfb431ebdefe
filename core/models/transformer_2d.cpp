// diffusers models/transformers/transformer_2d.py Transformer2DModel (continuous input) with
// attention.py BasicTransformerBlock (layer_norm, GEGLU) and attention_processor.py Attention.
#include "core/models/transformer_2d.h"

#include "core/models/activations.h"
#include "core/models/attention.h"
#include "core/models/linear.h"
#include "core/models/norms.h"
#include "core/models/quantized_weights.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"

namespace latent::models {

namespace nn = torch::nn;

CrossAttentionImpl::CrossAttentionImpl(int64_t query_dim, int64_t context_dim, int64_t heads_,
                                       int64_t head_dim_, bool upcast)
    : heads(heads_), head_dim(head_dim_), upcast_attention(upcast) {
  const int64_t inner = heads * head_dim;
  to_q = register_module("to_q", nn::Linear(nn::LinearOptions(query_dim, inner).bias(false)));
  to_k = register_module("to_k", nn::Linear(nn::LinearOptions(context_dim, inner).bias(false)));
  to_v = register_module("to_v", nn::Linear(nn::LinearOptions(context_dim, inner).bias(false)));
  to_out_0 = nn::Linear(inner, query_dim);
  to_out = register_module("to_out", nn::ModuleList());
  to_out->push_back(to_out_0);
}

namespace {

onednn::Epilogue adding(const torch::Tensor& residual) {
  onednn::Epilogue epilogue;
  epilogue.plus = residual;
  return epilogue;
}

}  // namespace

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context,
                                          const torch::Tensor& residual) {
  const auto& kv = context.defined() ? context : x;
  const int64_t batch = x.size(0);
  // [B, N, h·d] -> [B, h, N, d] as strided views; matmul copes with the strides.
  auto split = [&](const torch::Tensor& t) {
    return t.view({batch, t.size(1), heads, head_dim}).transpose(1, 2);
  };
  auto q = split(linear(to_q, x));
  auto k = split(linear(to_k, kv));
  auto v = split(linear(to_v, kv));
  torch::Tensor out;
  if (upcast_attention && q.scalar_type() != torch::kFloat32 &&
      q.scalar_type() != torch::kFloat64) {
    out = attention(q.to(torch::kFloat32), k.to(torch::kFloat32), v.to(torch::kFloat32))
              .to(q.scalar_type());
  } else {
    out = attention(q, k, v);  // [B, h, N, d]
  }
  out = out.transpose(1, 2).reshape({batch, x.size(1), heads * head_dim});  // [B, N, h·d]
  return linear(to_out_0, out, adding(residual));
}

GEGLUImpl::GEGLUImpl(int64_t dim_in, int64_t dim_out) {
  proj = register_module("proj", nn::Linear(dim_in, dim_out * 2));
}

// On the CPU, proj's two halves are two products whose epilogues do the rest: GELU inside
// the gate's, the multiplication inside the hidden half's. The [B, N, 2·inner] projection
// never goes through memory and the gate is not copied out of it. GELU, copy and
// multiplication took about 2% of a guided 512² bf16 step on an AVX512-BF16 processor (more
// where AMX makes the products faster) and 2.6% of a float32 one, where oneDNN's GELU
// differs from LibTorch's by a few parts in 10⁷.
torch::Tensor GEGLUImpl::forward(const torch::Tensor& x) {
  // oneDNN on the CPU (bfloat16 or float32), outside training.
  if (!onednn::supports_inference(x)) return gelu_gate(linear(proj, x));  // [B, N, inner]
  const auto weight = compute_weight(*proj, proj->weight, x.scalar_type());
  const int64_t inner = weight.size(0) / 2;
  const auto half = [&](const torch::Tensor& t, int64_t first) {
    return t.defined() ? t.narrow(0, first, inner) : t;
  };
  onednn::Epilogue gelu;
  gelu.gelu = true;
  onednn::Epilogue gated;
  gated.times = linear(x, half(weight, inner), half(proj->bias, inner), gelu);  // GELU(gate)
  return linear(x, half(weight, 0), half(proj->bias, 0), gated);                // hidden · GELU(gate)
}

FeedForwardImpl::FeedForwardImpl(int64_t dim, int64_t inner_dim) {
  geglu = GEGLU(dim, inner_dim);
  out = nn::Linear(inner_dim, dim);
  net = register_module("net", nn::ModuleList());
  net->push_back(geglu);
  net->push_back(nn::Dropout(0.0));
  net->push_back(out);
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return linear(out, geglu->forward(x), adding(residual));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t head_dim,
                                                     int64_t cross_attention_dim, bool only_cross,
                                                     bool upcast)
    : only_cross_attention(only_cross) {
  auto ln = [&] { return nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-5)); };
  norm1 = register_module("norm1", ln());
  attn1 = register_module("attn1", CrossAttention(dim, only_cross ? cross_attention_dim : dim,
                                                  heads, head_dim, upcast));
  norm2 = register_module("norm2", ln());
  attn2 =
      register_module("attn2", CrossAttention(dim, cross_attention_dim, heads, head_dim, upcast));
  norm3 = register_module("norm3", ln());
  ff = register_module("ff", FeedForward(dim, dim * 4));
}

torch::Tensor BasicTransformerBlockImpl::forward(const torch::Tensor& x,
                                                 const torch::Tensor& context) {
  cancellation_point();
  // Each residual is added by the product that ends its branch (linear.h's epilogue).
  auto h = attn1->forward(layer_norm(norm1, x), only_cross_attention ? context : torch::Tensor(), x);
  h = attn2->forward(layer_norm(norm2, h), context, h);
  return ff->forward(layer_norm(norm3, h), h);
}

Transformer2DModelImpl::Transformer2DModelImpl(const Transformer2DOptions& o) : options(o) {
  const int64_t inner = o.heads * o.head_dim;
  if (o.heads <= 0 || o.head_dim <= 0 || o.num_layers <= 0)
    throw Error("Transformer2DModel: heads, head dimension and layers must be positive");
  norm = register_module(
      "norm", nn::GroupNorm(nn::GroupNormOptions(o.norm_num_groups, o.in_channels).eps(1e-6)));
  if (o.use_linear_projection)
    proj_in_linear = register_module("proj_in", nn::Linear(o.in_channels, inner));
  else
    proj_in_conv =
        register_module("proj_in", nn::Conv2d(nn::Conv2dOptions(o.in_channels, inner, 1)));
  transformer_blocks = register_module("transformer_blocks", nn::ModuleList());
  for (int64_t i = 0; i < o.num_layers; ++i) {
    blocks.emplace_back(inner, o.heads, o.head_dim, o.cross_attention_dim, o.only_cross_attention,
                        o.upcast_attention);
    transformer_blocks->push_back(blocks.back());
  }
  if (o.use_linear_projection)
    proj_out_linear = register_module("proj_out", nn::Linear(inner, o.in_channels));
  else
    proj_out_conv =
        register_module("proj_out", nn::Conv2d(nn::Conv2dOptions(inner, o.in_channels, 1)));
}

torch::Tensor Transformer2DModelImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& context) {
  const int64_t b = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  auto h = group_norm(norm, x);  // [B, C, H, W]
  // Token layout [B, H·W, C]: a free view when the activations are channels-last. The 1×1
  // proj_in/proj_out convolutions are the same products as linear layers on the tokens.
  h = h.permute({0, 2, 3, 1}).reshape({b, height * width, channels});  // [B, HW, C]
  h = proj_in_conv ? linear(proj_in_conv, h) : linear(proj_in_linear, h);  // [B, HW, inner]
  for (auto& block : blocks) h = block->forward(h, context);
  // The input, added back by proj_out's product where it is channels-last in memory.
  const auto x_tokens = x.permute({0, 2, 3, 1});  // [B, H, W, C]
  const auto residual = adding(x_tokens.is_contiguous() ? x_tokens.reshape({b, height * width, channels})
                                                        : torch::Tensor());
  h = proj_out_conv ? linear(proj_out_conv, h, residual) : linear(proj_out_linear, h, residual);  // [B, HW, C]
  // Back to [B, C, H, W], channels-last in memory, without a copy.
  const auto out = h.view({b, height, width, channels}).permute({0, 3, 1, 2});
  return residual.plus.defined() ? out : out.add_(x);
}

}  // namespace latent::models
