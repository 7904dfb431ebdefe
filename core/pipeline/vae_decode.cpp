#include "core/pipeline/vae_decode.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/models/norms.h"
#include "core/util/error.h"

namespace latent::pipeline {
namespace {

int64_t element_bytes(torch::ScalarType dtype) {
  return static_cast<int64_t>(c10::elementSize(dtype));
}

// The widest activation at full resolution: the last upsampler's channels.
int64_t widest_full_resolution_channels(const models::AutoencoderKLConfig& config) {
  const auto& blocks = config.block_out_channels;
  return blocks.size() > 1 ? std::max(blocks[0], blocks[1]) : blocks[0];
}

// The decoder's high-resolution half: up blocks, norm, SiLU, conv_out.
torch::Tensor decode_tail(models::VaeDecoderImpl& decoder, torch::Tensor h) {
  for (size_t i = 0; i < decoder.up_blocks->size(); ++i)
    h = decoder.up_blocks[i]->as<models::UpDecoderBlock2D>()->forward(h);
  h = models::group_norm(decoder.conv_norm_out, h);
  return decoder.conv_out(torch::silu_(h));  // [B, 3, H, W]
}

struct Span {
  int64_t begin = 0;
  int64_t end = 0;
};

// Tiles of `tile` covering [0, length) with at least `overlap` shared between neighbours.
std::vector<Span> tile_spans(int64_t length, int64_t tile, int64_t overlap) {
  if (length <= tile) return {{0, length}};
  const int64_t stride = tile - overlap;
  const int64_t count = (length - overlap + stride - 1) / stride;  // ceil((L - O) / S)
  std::vector<Span> spans;
  for (int64_t i = 0; i < count; ++i) {
    // Spread the tiles evenly so every overlap is at least `overlap`.
    const int64_t begin = static_cast<int64_t>(
        std::llround(static_cast<double>(i) * (length - tile) / static_cast<double>(count - 1)));
    spans.push_back({begin, begin + tile});
  }
  return spans;
}

// Weights along one axis for tile i, in output pixels: 1 inside, 0 in the outer quarter of
// each overlap with a neighbour, and a linear cross-fade over the overlap's middle half, so
// the weights of neighbouring tiles add up to one everywhere.
torch::Tensor axis_weights(const std::vector<Span>& spans, size_t i, int64_t scale) {
  const Span s = spans[i];
  const int64_t n = (s.end - s.begin) * scale;
  auto w = torch::ones({n}, torch::kFloat32);
  auto* p = w.data_ptr<float>();
  auto fade = [&](int64_t overlap_begin, int64_t overlap_end, bool rising) {
    const double ob = static_cast<double>(overlap_begin * scale);
    const double oe = static_cast<double>(overlap_end * scale);
    const double quarter = (oe - ob) / 4.0;
    const double fade_begin = ob + quarter, fade_end = oe - quarter;
    for (int64_t k = 0; k < n; ++k) {
      const double x = static_cast<double>(s.begin * scale + k) + 0.5;  // pixel centre
      if (x < ob || x >= oe) continue;
      double t = (x - fade_begin) / (fade_end - fade_begin);  // 0 → 1 across the fade
      t = std::clamp(t, 0.0, 1.0);
      p[k] *= static_cast<float>(rising ? t : 1.0 - t);
    }
  };
  if (i > 0) fade(s.begin, spans[i - 1].end, true);
  if (i + 1 < spans.size()) fade(spans[i + 1].begin, s.end, false);
  return w;
}

}  // namespace

int64_t estimate_vae_decode_bytes(const models::AutoencoderKLConfig& config, int64_t batch,
                                  int64_t latent_height, int64_t latent_width,
                                  torch::ScalarType dtype) {
  const int64_t f = config.downscale_factor();
  const int64_t pixels = batch * latent_height * f * latent_width * f;
  const int64_t channels = widest_full_resolution_channels(config);
  const int64_t e = element_bytes(dtype);
  // Measured: the widest full-resolution step holds the block input, the upsampled tensor
  // and the norm's float32 input and output at once.
  const int64_t per_channel = 3 * e + ((dtype == torch::kFloat32 || dtype == torch::kFloat64) ? 0 : 8);
  return pixels * channels * per_channel;
}

int64_t vae_tile_size(const models::AutoencoderKLConfig& config, int64_t batch,
                      torch::ScalarType dtype, const VaeDecodeOptions& options) {
  const int64_t one_latent_pixel = std::max<int64_t>(1, estimate_vae_decode_bytes(config, batch, 1, 1, dtype));
  const int64_t area = options.budget_bytes / one_latent_pixel;
  const int64_t side = static_cast<int64_t>(std::sqrt(static_cast<double>(std::max<int64_t>(0, area))));
  return std::max(side, 2 * options.overlap + 8);
}

bool vae_decode_needs_tiles(const models::AutoencoderKLConfig& config, torch::IntArrayRef sizes,
                            torch::ScalarType dtype, const VaeDecodeOptions& options) {
  if (sizes.size() != 4) return false;
  return estimate_vae_decode_bytes(config, sizes[0], sizes[2], sizes[3], dtype) > options.budget_bytes;
}

torch::Tensor vae_decode(models::AutoencoderKL& vae, const torch::Tensor& latents,
                         const VaeDecodeOptions& options) {
  const auto dtype = vae->decoder->conv_in->weight.scalar_type();
  if (!vae_decode_needs_tiles(vae->config(), latents.sizes(), dtype, options))
    return vae->decode(latents).to(torch::kFloat32);  // [B, 3, H, W]
  const int64_t tile = vae_tile_size(vae->config(), latents.size(0), dtype, options);
  return vae_decode_tiled(vae, latents, tile, options.overlap);
}

torch::Tensor vae_decode_tiled(models::AutoencoderKL& vae, const torch::Tensor& latents,
                               int64_t tile, int64_t overlap) {
  if (latents.dim() != 4 || latents.size(1) != vae->config().latent_channels)
    throw Error("VAE decode: latents must be [batch, " +
                std::to_string(vae->config().latent_channels) + ", height, width]");
  if (overlap < 0 || tile <= overlap)
    throw Error("VAE decode: tiles of " + std::to_string(tile) + " latent pixels cannot overlap by " +
                std::to_string(overlap));
  auto& decoder = *vae->decoder;
  const auto& weight = decoder.conv_in->weight;
  auto z = latents.to(weight.device(), weight.scalar_type());  // [B, latent, h, w]
  if (vae->post_quant_conv) z = vae->post_quant_conv(z);
  // The low-resolution half (conv_in, mid block with its global attention) is small:
  // run it once on the whole latent so every tile sees the same attention.
  const auto mid = decoder.mid_block(decoder.conv_in(z));  // [B, C, h, w]

  const int64_t f = vae->config().downscale_factor();
  const int64_t batch = latents.size(0), h = latents.size(2), w = latents.size(3);
  const auto rows = tile_spans(h, tile, overlap);
  const auto cols = tile_spans(w, tile, overlap);
  const auto on_device = torch::TensorOptions().dtype(torch::kFloat32).device(weight.device());
  auto image = torch::zeros({batch, vae->config().out_channels, h * f, w * f}, on_device);
  auto total_weight = torch::zeros({1, 1, h * f, w * f}, on_device);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto wy = axis_weights(rows, i, f).to(weight.device()).view({1, 1, -1, 1});
    for (size_t j = 0; j < cols.size(); ++j) {
      const auto wx = axis_weights(cols, j, f).to(weight.device()).view({1, 1, 1, -1});
      const auto window = mid.narrow(2, rows[i].begin, rows[i].end - rows[i].begin)
                              .narrow(3, cols[j].begin, cols[j].end - cols[j].begin);
      const auto piece = decode_tail(decoder, window).to(torch::kFloat32);  // [B, 3, th·f, tw·f]
      const auto weights = wy * wx;  // [1, 1, th·f, tw·f]
      auto region = [&](torch::Tensor& t) {
        return t.narrow(2, rows[i].begin * f, piece.size(2)).narrow(3, cols[j].begin * f, piece.size(3));
      };
      region(image).add_(piece * weights);
      region(total_weight).add_(weights);
    }
  }
  // Neighbouring weights add up to one; where three tiles meet they may not, so normalise.
  return image.div_(total_weight);
}

}  // namespace latent::pipeline
