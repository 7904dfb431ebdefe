#include "core/pipeline/flops.h"

#include <utility>
#include <vector>

namespace latent::pipeline {
namespace {

struct Size2 {
  int64_t h = 0;
  int64_t w = 0;
  double pixels() const { return static_cast<double>(h) * static_cast<double>(w); }
};

// Output size of a k×k convolution with stride 2 and symmetric padding p.
Size2 strided(Size2 in, int64_t k, int64_t pad_before, int64_t pad_after) {
  return {(in.h + pad_before + pad_after - k) / 2 + 1, (in.w + pad_before + pad_after - k) / 2 + 1};
}

class Counter {
 public:
  explicit Counter(int64_t batch) : batch_(static_cast<double>(batch)) {}

  void conv(int64_t in, int64_t out, int64_t kernel, Size2 out_size) {
    const double f = 2.0 * batch_ * in * out * kernel * kernel * out_size.pixels();
    (kernel == 1 ? count_.conv1x1 : count_.conv3x3) += f;
  }
  void linear(double rows, int64_t in, int64_t out) { count_.linear += 2.0 * batch_ * rows * in * out; }
  // q·kᵀ and p·v for `queries` × `keys` over `channels` (all heads together).
  void attention(double queries, double keys, int64_t channels) {
    count_.attention += 2.0 * 2.0 * batch_ * queries * keys * channels;
  }

  // diffusers ResnetBlock2D: conv1, conv2, time projection, 1×1 shortcut when in ≠ out.
  void resnet(int64_t in, int64_t out, int64_t temb, Size2 s) {
    conv(in, out, 3, s);
    conv(out, out, 3, s);
    if (temb > 0) linear(1, temb, out);
    if (in != out) conv(in, out, 1, s);
  }

  // Transformer2DModel with `layers` BasicTransformerBlocks (self-attention, cross-attention
  // on `context_tokens` tokens of `context_dim`, GEGLU feed-forward of 4× width).
  void transformer(int64_t channels, int64_t layers, int64_t context_dim, int64_t context_tokens,
                   bool only_cross, bool linear_projection, Size2 s) {
    const double n = s.pixels();
    const int64_t inner = channels;  // heads × head_dim, head_dim = channels / heads
    if (linear_projection) linear(n, channels, inner); else conv(channels, inner, 1, s);
    for (int64_t l = 0; l < layers; ++l) {
      // attn1: self-attention, or cross-attention when only_cross_attention.
      linear(n, inner, inner);  // to_q
      if (only_cross) {
        linear(context_tokens, context_dim, 2 * inner);  // to_k, to_v
        attention(n, context_tokens, inner);
      } else {
        linear(n, inner, 2 * inner);
        attention(n, n, inner);
      }
      linear(n, inner, inner);  // to_out
      // attn2: cross-attention.
      linear(n, inner, inner);
      linear(context_tokens, context_dim, 2 * inner);
      attention(n, context_tokens, inner);
      linear(n, inner, inner);
      // GEGLU: inner → 2·4·inner, then 4·inner → inner.
      linear(n, inner, 8 * inner);
      linear(n, 4 * inner, inner);
    }
    if (linear_projection) linear(n, inner, channels); else conv(inner, channels, 1, s);
  }

  // diffusers' VAE Attention: one head over all positions, q/k/v/out linear layers.
  void vae_attention(int64_t channels, Size2 s) {
    linear(s.pixels(), channels, 4 * channels);
    attention(s.pixels(), s.pixels(), channels);
  }

  FlopCount result() const { return count_; }

 private:
  double batch_;
  FlopCount count_;
};

}  // namespace

FlopCount& FlopCount::operator+=(const FlopCount& other) {
  conv3x3 += other.conv3x3;
  conv1x1 += other.conv1x1;
  linear += other.linear;
  attention += other.attention;
  return *this;
}

FlopCount unet_flops(const models::UNet2DConditionConfig& c, int64_t batch, int64_t latent_height,
                     int64_t latent_width, int64_t context_tokens) {
  Counter k(batch);
  const size_t n = c.block_out_channels.size();
  const int64_t ch0 = c.block_out_channels.front();
  const int64_t temb = c.time_embedding_dim > 0 ? c.time_embedding_dim : 4 * ch0;
  Size2 s{latent_height, latent_width};

  k.conv(c.in_channels, ch0, c.conv_in_kernel, s);
  k.linear(1, ch0, temb);
  k.linear(1, temb, temb);

  // Sizes of the skip tensors, so the up path follows odd sizes as the model does.
  std::vector<Size2> skips{s};
  int64_t ch = ch0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t out = c.block_out_channels[i];
    const bool cross = c.down_block_types[i] == models::UNetDownBlockType::CrossAttnDownBlock2D;
    for (int64_t l = 0; l < c.layers_per_block[i]; ++l) {
      k.resnet(l == 0 ? ch : out, out, temb, s);
      if (cross)
        k.transformer(out, c.transformer_layers_per_block[i], c.cross_attention_dim[i],
                      context_tokens, c.only_cross_attention[i], c.use_linear_projection, s);
      skips.push_back(s);
    }
    ch = out;
    if (i + 1 < n) {
      s = strided(s, 3, c.downsample_padding, c.downsample_padding);
      k.conv(out, out, 3, s);
      skips.push_back(s);
    }
  }

  if (c.has_mid_block) {
    k.resnet(ch, ch, temb, s);
    k.transformer(ch, c.transformer_layers_per_block.back(), c.cross_attention_dim.back(),
                  context_tokens, false, c.use_linear_projection, s);
    k.resnet(ch, ch, temb, s);
  }

  for (size_t i = 0; i < n; ++i) {
    const size_t r = n - 1 - i;
    const int64_t out = c.block_out_channels[r];
    const int64_t in = c.block_out_channels[r == 0 ? 0 : r - 1];
    const bool cross = c.up_block_types[i] == models::UNetUpBlockType::CrossAttnUpBlock2D;
    const int64_t layers = c.layers_per_block[r] + 1;
    for (int64_t l = 0; l < layers; ++l) {
      const int64_t skip_ch = l == layers - 1 ? in : out;
      const int64_t running = l == 0 ? ch : out;
      if (!skips.empty()) skips.pop_back();
      k.resnet(running + skip_ch, out, temb, s);
      if (cross)
        k.transformer(out, c.transformer_layers_per_block[r], c.cross_attention_dim[r],
                      context_tokens, c.only_cross_attention[r], c.use_linear_projection, s);
    }
    ch = out;
    if (i + 1 < n) {
      s = skips.empty() ? Size2{s.h * 2, s.w * 2} : skips.back();
      k.conv(out, out, 3, s);
    }
  }
  k.conv(ch0, c.out_channels, c.conv_out_kernel, s);
  return k.result();
}

FlopCount vae_decoder_flops(const models::AutoencoderKLConfig& c, int64_t batch,
                            int64_t latent_height, int64_t latent_width) {
  Counter k(batch);
  Size2 s{latent_height, latent_width};
  const std::vector<int64_t> reversed(c.block_out_channels.rbegin(), c.block_out_channels.rend());
  if (c.use_post_quant_conv) k.conv(c.latent_channels, c.latent_channels, 1, s);
  int64_t ch = reversed.front();
  k.conv(c.latent_channels, ch, 3, s);
  k.resnet(ch, ch, 0, s);
  if (c.mid_block_add_attention) k.vae_attention(ch, s);
  k.resnet(ch, ch, 0, s);
  for (size_t i = 0; i < reversed.size(); ++i) {
    for (int64_t l = 0; l < c.layers_per_block + 1; ++l) k.resnet(l == 0 ? ch : reversed[i], reversed[i], 0, s);
    ch = reversed[i];
    if (i + 1 < reversed.size()) {
      s = {s.h * 2, s.w * 2};
      k.conv(ch, ch, 3, s);
    }
  }
  k.conv(ch, c.out_channels, 3, s);
  return k.result();
}

FlopCount vae_encoder_flops(const models::AutoencoderKLConfig& c, int64_t batch, int64_t height,
                            int64_t width) {
  Counter k(batch);
  Size2 s{height, width};
  const auto& blocks = c.block_out_channels;
  int64_t ch = blocks.front();
  k.conv(c.in_channels, ch, 3, s);
  for (size_t i = 0; i < blocks.size(); ++i) {
    for (int64_t l = 0; l < c.layers_per_block; ++l) k.resnet(l == 0 ? ch : blocks[i], blocks[i], 0, s);
    ch = blocks[i];
    if (i + 1 < blocks.size()) {
      s = strided(s, 3, 0, 1);  // the VAE pads right and bottom by one, then convolves
      k.conv(ch, ch, 3, s);
    }
  }
  k.resnet(ch, ch, 0, s);
  if (c.mid_block_add_attention) k.vae_attention(ch, s);
  k.resnet(ch, ch, 0, s);
  k.conv(ch, 2 * c.latent_channels, 3, s);
  if (c.use_quant_conv) k.conv(2 * c.latent_channels, 2 * c.latent_channels, 1, s);
  return k.result();
}

FlopCount text_encoder_flops(const models::CLIPTextConfig& c, int64_t batch, int64_t tokens) {
  Counter k(batch);
  const double n = static_cast<double>(tokens);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    k.linear(n, c.hidden_size, 4 * c.hidden_size);  // q, k, v, out
    k.attention(n, n, c.hidden_size);
    k.linear(n, c.hidden_size, c.intermediate_size);
    k.linear(n, c.intermediate_size, c.hidden_size);
  }
  return k.result();
}

}  // namespace latent::pipeline
