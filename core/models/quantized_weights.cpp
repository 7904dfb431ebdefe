#include "core/models/quantized_weights.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/util/error.h"

namespace latent::models {
namespace {

// Below this many weights per task the threads cost more than they save (a parallel region
// per small layer measured slower than one thread on a busy machine).
constexpr int64_t kGrainWeights = 1 << 20;


// float32 → bfloat16 by round to nearest even, as c10::BFloat16 rounds (the values here are
// finite), written as integer steps so the loop below vectorises.
inline uint16_t to_bf16_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// One channel's q·s. Compiled for several instruction sets and chosen when the program
// starts (the project builds for the baseline x86-64, whose SSE2 would leave most of the
// speed of AVX2 and AVX-512 machines unused).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LATENT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LATENT_CLONES
#endif

LATENT_CLONES void scale_row_bf16(const int8_t* q, float s, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = to_bf16_bits(static_cast<float>(q[i]) * s);
}

LATENT_CLONES void scale_row_f32(const int8_t* q, float s, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(q[i]) * s;
}

// [O, 1, ...]: a scale per output channel, broadcast over the rest of a weight of `dims`.
std::vector<int64_t> channel_shape(int64_t channels, int64_t dims) {
  std::vector<int64_t> shape(static_cast<size_t>(dims), 1);
  shape[0] = channels;
  return shape;
}

// Each output channel's weights lie in one contiguous run, channel after channel (true of
// contiguous and of channels-last tensors).
bool channel_major(const torch::Tensor& t) {
  return t.dim() >= 1 && t.numel() > 0 && t.is_non_overlapping_and_dense() &&
         t.stride(0) * t.size(0) == t.numel();
}

torch::Tensor scale_of(const torch::nn::Module& layer) {
  const auto buffers = layer.named_buffers(/*recurse=*/false);
  const auto* found = buffers.find(kWeightScaleName);
  return found ? *found : torch::Tensor();
}

}  // namespace

QuantizedWeight quantize_per_channel(const torch::Tensor& weight) {
  if (weight.dim() < 2 || !weight.is_floating_point())
    throw Error("8-bit weights: a weight of shape " + std::to_string(weight.dim()) +
                " dimensions and type " + std::string(c10::toString(weight.scalar_type())) +
                " cannot be quantized per output channel");
  torch::NoGradGuard no_grad;
  // One pass over each channel's run of memory, without temporaries: a load quantizes
  // hundreds of layers, and tensor operations on them measured several times slower.
  const auto w = channel_major(weight) && weight.device().is_cpu() ? weight : weight.cpu().contiguous();
  const int64_t channels = w.size(0);
  const int64_t per_channel = w.numel() / channels;
  QuantizedWeight out;
  out.values = torch::empty_like(w, w.options().dtype(torch::kInt8));  // the weight's layout
  out.scale = torch::empty({channels}, w.options().dtype(torch::kFloat32));
  int8_t* q = out.values.data_ptr<int8_t>();
  float* scales = out.scale.data_ptr<float>();
  const int64_t grain = std::max<int64_t>(1, kGrainWeights / std::max<int64_t>(1, per_channel));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, w.scalar_type(), "quantize_per_channel", [&] {
    const scalar_t* values = w.data_ptr<scalar_t>();
    at::parallel_for(0, channels, grain, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        const scalar_t* row = values + c * per_channel;
        float largest = 0;
        for (int64_t i = 0; i < per_channel; ++i) largest = std::max(largest, std::abs(static_cast<float>(row[i])));
        const float s = largest / 127.0f;
        scales[c] = s;
        int8_t* out_row = q + c * per_channel;
        // |w/s − round(w/s)| ≤ 1/2, so |w − q·s| ≤ s/2; |w/s| ≤ 127 by the choice of s.
        for (int64_t i = 0; i < per_channel; ++i) {
          const float r = s > 0 ? std::nearbyint(static_cast<float>(row[i]) / s) : 0.0f;
          out_row[i] = r >= -127.0f && r <= 127.0f ? static_cast<int8_t>(r) : r > 0 ? int8_t{127} : int8_t{-127};  // NaN: -127
        }
      }
    });
  });
  if (!weight.device().is_cpu()) {
    out.values = out.values.to(weight.device());
    out.scale = out.scale.to(weight.device());
  }
  return out;
}

torch::Tensor dequantize_per_channel(const torch::Tensor& values, const torch::Tensor& scale,
                                     torch::ScalarType dtype) {
  const int64_t channels = values.size(0);
  const bool fast = values.device().is_cpu() && values.scalar_type() == torch::kInt8 && channel_major(values) &&
                    (dtype == torch::kBFloat16 || dtype == torch::kFloat32);
  if (!fast) {
    const auto s = scale.to(values.device(), dtype).view(channel_shape(channels, values.dim()));
    return values.to(dtype).mul_(s);
  }
  auto out = torch::empty_like(values, values.options().dtype(dtype));  // the same strides
  const auto s = scale.to(torch::kFloat32).contiguous();
  const float* scales = s.data_ptr<float>();
  const int8_t* q = values.data_ptr<int8_t>();
  const int64_t per_channel = values.numel() / channels;
  const int64_t grain = std::max<int64_t>(1, kGrainWeights / std::max<int64_t>(1, per_channel));
  if (dtype == torch::kBFloat16) {
    auto* o = reinterpret_cast<uint16_t*>(out.data_ptr());
    at::parallel_for(0, channels, grain, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c)
        scale_row_bf16(q + c * per_channel, scales[c], o + c * per_channel, per_channel);
    });
  } else {
    float* o = out.data_ptr<float>();
    at::parallel_for(0, channels, grain, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) scale_row_f32(q + c * per_channel, scales[c], o + c * per_channel, per_channel);
    });
  }
  return out;
}

bool is_quantized(const torch::nn::Module& layer) {
  const auto* linear = layer.as<torch::nn::Linear>();
  const auto* conv = layer.as<torch::nn::Conv2d>();
  const torch::Tensor* weight = linear ? &linear->weight : conv ? &conv->weight : nullptr;
  return weight && weight->defined() && weight->scalar_type() == torch::kInt8;
}

torch::Tensor compute_weight(const torch::nn::Module& layer, const torch::Tensor& weight, torch::ScalarType dtype) {
  if (weight.scalar_type() != torch::kInt8) return weight;
  const auto scale = scale_of(layer);
  if (!scale.defined()) throw Error("an 8-bit weight of " + layer.name() + " has no scales");
  return dequantize_per_channel(weight, scale, dtype);
}

void make_quantized(torch::nn::Module& layer, torch::Tensor weight) {
  torch::NoGradGuard no_grad;
  weight.set_requires_grad(false);  // integers carry no gradient
  weight.set_data(torch::empty_like(weight, weight.options().dtype(torch::kInt8)));
  const auto scale = torch::empty({weight.size(0)}, weight.options().dtype(torch::kFloat32));
  auto existing = scale_of(layer);
  if (existing.defined())
    existing.set_data(scale);  // taken back after a release (text_encoder_residency.h)
  else
    layer.register_buffer(kWeightScaleName, scale);
}

torch::Tensor* layer_weight(torch::nn::Module& module) {
  if (auto* linear = module.as<torch::nn::Linear>()) return &linear->weight;
  if (auto* conv = module.as<torch::nn::Conv2d>()) return &conv->weight;
  return nullptr;
}

}  // namespace latent::models
