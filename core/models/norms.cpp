#include "core/models/norms.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <type_traits>
#include <vector>

#include "core/models/activations.h"
#include "core/models/bf16_rows.h"

namespace latent::models {
namespace {

bool is_half(const torch::Tensor& x) {
  return x.scalar_type() == torch::kHalf || x.scalar_type() == torch::kBFloat16;
}

torch::Tensor as_type(const torch::Tensor& t, const torch::Tensor& like) {
  return t.defined() ? t.to(like.scalar_type()) : t;
}

// A bfloat16 value's bits, as bf16_rows.h's loops take them.
const uint16_t* raw_bits(const at::BFloat16* p) { return reinterpret_cast<const uint16_t*>(p); }
uint16_t* raw_bits(at::BFloat16* p) { return reinterpret_cast<uint16_t*>(p); }

// Per-channel scale and shift (float32) or an empty tensor.
std::vector<float> channel_values(const torch::Tensor& t, int64_t channels, float fallback) {
  std::vector<float> out(static_cast<size_t>(channels), fallback);
  if (!t.defined()) return out;
  const auto f = t.to(torch::kCPU, torch::kFloat32).contiguous();
  const float* p = f.data_ptr<float>();
  for (int64_t c = 0; c < channels; ++c) out[static_cast<size_t>(c)] = p[c];
  return out;
}

// GroupNorm of half-precision activations with float32 arithmetic, reading and writing
// the half type directly: one pass for the statistics, one for the output. (LibTorch
// 1.13's own bf16 GroupNorm loses up to 5 units on channels-last input; converting to
// float32 and back moves three times the bytes.)
template <typename T>
torch::Tensor group_norm_half(const torch::Tensor& input, int64_t groups, const torch::Tensor& weight,
                              const torch::Tensor& bias, double eps, bool then_silu) {
  const int64_t batch = input.size(0), channels = input.size(1);
  const int64_t per_group = channels / groups;
  const bool channels_last = input.dim() == 4 && !input.is_contiguous() &&
                             input.is_contiguous(at::MemoryFormat::ChannelsLast);
  const auto x = channels_last ? input : input.contiguous();
  const int64_t pixels = x.numel() / (batch * channels);
  auto out = torch::empty_like(x);
  const T* src = x.data_ptr<T>();
  T* dst = out.data_ptr<T>();
  const auto w = channel_values(weight, channels, 1.0f);
  const auto b = channel_values(bias, channels, 0.0f);
  const double count = static_cast<double>(per_group * pixels);

  for (int64_t n = 0; n < batch; ++n) {
    const T* xs = src + n * channels * pixels;
    T* ys = dst + n * channels * pixels;
    std::vector<double> sum(static_cast<size_t>(channels), 0.0), sumsq(sum);
    if (channels_last) {
      // [pixels, channels]: per-channel sums over row blocks, one block per task.
      const int64_t block = 256;
      const int64_t tasks = (pixels + block - 1) / block;
      std::vector<double> part_sum(static_cast<size_t>(tasks * channels)), part_sq(part_sum.size());
      at::parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
        std::vector<float> s(static_cast<size_t>(channels)), q(s.size());
        for (int64_t t = t0; t < t1; ++t) {
          std::fill(s.begin(), s.end(), 0.0f);
          std::fill(q.begin(), q.end(), 0.0f);
          const int64_t first = t * block, rows = std::min(pixels, first + block) - first;
          if constexpr (std::is_same_v<T, at::BFloat16>) {
            bf16::add_channel_sums(raw_bits(xs + first * channels), rows, channels, s.data(), q.data());
          } else {
            for (int64_t p = first; p < first + rows; ++p) {
              const T* row = xs + p * channels;
              for (int64_t c = 0; c < channels; ++c) {
                const float v = static_cast<float>(row[c]);
                s[c] += v;
                q[c] += v * v;
              }
            }
          }
          for (int64_t c = 0; c < channels; ++c) {
            part_sum[t * channels + c] = s[c];
            part_sq[t * channels + c] = q[c];
          }
        }
      });
      for (int64_t t = 0; t < tasks; ++t)
        for (int64_t c = 0; c < channels; ++c) {
          sum[c] += part_sum[t * channels + c];
          sumsq[c] += part_sq[t * channels + c];
        }
    } else {
      // [channels, pixels]: each channel is one contiguous run.
      at::parallel_for(0, channels, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          const T* run = xs + c * pixels;
          double s = 0, q = 0;
          for (int64_t p0 = 0; p0 < pixels; p0 += 1024) {
            float fs = 0, fq = 0;
            const int64_t count = std::min(pixels, p0 + 1024) - p0;
            if constexpr (std::is_same_v<T, at::BFloat16>) {
              bf16::add_run_sums(raw_bits(run + p0), count, &fs, &fq);
            } else {
              for (int64_t p = p0; p < p0 + count; ++p) {
                const float v = static_cast<float>(run[p]);
                fs += v;
                fq += v * v;
              }
            }
            s += fs;
            q += fq;
          }
          sum[c] = s;
          sumsq[c] = q;
        }
      });
    }
    // y = x·a + c per channel, a = w·rstd, c = b − mean·a.
    std::vector<float> scale(static_cast<size_t>(channels)), shift(scale.size());
    for (int64_t g = 0; g < groups; ++g) {
      double s = 0, q = 0;
      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        s += sum[c];
        q += sumsq[c];
      }
      const double mean = s / count;
      const double var = std::max(0.0, q / count - mean * mean);
      const double rstd = 1.0 / std::sqrt(var + eps);
      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        scale[c] = static_cast<float>(rstd * w[c]);
        shift[c] = static_cast<float>(b[c] - mean * rstd * w[c]);
      }
    }
    if (channels_last) {
      at::parallel_for(0, pixels, 64, [&](int64_t p0, int64_t p1) {
        if constexpr (std::is_same_v<T, at::BFloat16>) {
          const auto loop = then_silu ? bf16::scale_shift_silu_channels : bf16::scale_shift_channels;
          loop(raw_bits(xs + p0 * channels), raw_bits(ys + p0 * channels), p1 - p0, channels, scale.data(),
               shift.data());
          return;
        }
        for (int64_t p = p0; p < p1; ++p) {
          const T* row = xs + p * channels;
          T* o = ys + p * channels;
          for (int64_t c = 0; c < channels; ++c) o[c] = static_cast<T>(static_cast<float>(row[c]) * scale[c] + shift[c]);
        }
      });
    } else {
      at::parallel_for(0, channels, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          const T* run = xs + c * pixels;
          T* o = ys + c * pixels;
          const float a = scale[c], sh = shift[c];
          if constexpr (std::is_same_v<T, at::BFloat16>)
            (then_silu ? bf16::scale_shift_silu_run : bf16::scale_shift_run)(raw_bits(run), raw_bits(o), pixels, a, sh);
          else
            for (int64_t p = 0; p < pixels; ++p) o[p] = static_cast<T>(static_cast<float>(run[p]) * a + sh);
        }
      });
    }
  }
  return out;
}

// LayerNorm over the last dimension of half-precision activations, float32 arithmetic.
template <typename T>
torch::Tensor layer_norm_half(const torch::Tensor& input, int64_t width, const torch::Tensor& weight,
                              const torch::Tensor& bias, double eps) {
  const auto x = input.contiguous();
  auto out = torch::empty_like(x);
  const int64_t rows = x.numel() / width;
  const T* src = x.data_ptr<T>();
  T* dst = out.data_ptr<T>();
  const auto w = channel_values(weight, width, 1.0f);
  const auto b = channel_values(bias, width, 0.0f);
  at::parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
    if constexpr (std::is_same_v<T, at::BFloat16>) {
      bf16::normalize_rows(raw_bits(src + r0 * width), raw_bits(dst + r0 * width), r1 - r0, width, w.data(),
                           b.data(), static_cast<float>(eps));
      return;
    }
    std::vector<float> row(static_cast<size_t>(width));
    for (int64_t r = r0; r < r1; ++r) {
      const T* xs = src + r * width;
      float s = 0;
      for (int64_t i = 0; i < width; ++i) {
        row[i] = static_cast<float>(xs[i]);
        s += row[i];
      }
      const float mean = s / static_cast<float>(width);
      float q = 0;
      for (int64_t i = 0; i < width; ++i) {
        const float d = row[i] - mean;
        q += d * d;
      }
      const float rstd = 1.0f / std::sqrt(q / static_cast<float>(width) + static_cast<float>(eps));
      T* ys = dst + r * width;
      for (int64_t i = 0; i < width; ++i) ys[i] = static_cast<T>((row[i] - mean) * rstd * w[i] + b[i]);
    }
  });
  return out;
}

}  // namespace

namespace {

torch::Tensor group_norm_then(const torch::nn::GroupNorm& norm, const torch::Tensor& x, bool then_silu) {
  const auto& o = norm->options;
  if (x.scalar_type() == torch::kBFloat16 && x.device().is_cpu() && x.dim() >= 2)
    return group_norm_half<at::BFloat16>(x, o.num_groups(), norm->weight, norm->bias, o.eps(), then_silu);
  torch::Tensor h;
  if (!is_half(x))
    h = torch::group_norm(x, o.num_groups(), norm->weight, norm->bias, o.eps());
  else if (x.device().is_cpu() && x.dim() >= 2)
    h = group_norm_half<at::Half>(x, o.num_groups(), norm->weight, norm->bias, o.eps(), false);
  else  // GPU: LibTorch's kernels accept half input with float32 statistics internally.
    h = torch::group_norm(x, o.num_groups(), as_type(norm->weight, x), as_type(norm->bias, x), o.eps());
  return then_silu ? models::silu_(h) : h;  // h is fresh: SiLU may work in place
}

}  // namespace

torch::Tensor group_norm(const torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  return group_norm_then(norm, x, false);
}

torch::Tensor group_norm_silu(const torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  return group_norm_then(norm, x, true);
}

torch::Tensor layer_norm(const torch::nn::LayerNorm& norm, const torch::Tensor& x) {
  const auto& o = norm->options;
  if (!is_half(x))
    return torch::layer_norm(x, o.normalized_shape(), norm->weight, norm->bias, o.eps());
  if (x.device().is_cpu() && o.normalized_shape().size() == 1) {
    const int64_t width = o.normalized_shape()[0];
    if (x.scalar_type() == torch::kBFloat16)
      return layer_norm_half<at::BFloat16>(x, width, norm->weight, norm->bias, o.eps());
    return layer_norm_half<at::Half>(x, width, norm->weight, norm->bias, o.eps());
  }
  return torch::layer_norm(x, o.normalized_shape(), as_type(norm->weight, x), as_type(norm->bias, x),
                           o.eps());
}

}  // namespace latent::models
