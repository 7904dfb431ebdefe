#pragma once

// The loops of the half-precision GroupNorm and LayerNorm (norms.cpp) over bfloat16 values, compiled for
// the processor at hand. The project is built for any x86-64; these loops are built again
// with AVX2 and with AVX-512 and the widest the processor runs is chosen once. Built for
// the baseline alone they ran a 512×512 VAE's GroupNorm at under 3 GB/s, a tenth of the
// memory's speed and about a tenth of the decode's time. Values are raw bfloat16 bits.

#include <cstdint>

namespace latent::models::bf16 {

// sum[c] += Σ x[r][c] and sumsq[c] += Σ x[r][c]² over `rows` rows of `channels` values.
void add_channel_sums(const uint16_t* x, int64_t rows, int64_t channels, float* sum, float* sumsq);

// y[r][c] = x[r][c] · scale[c] + shift[c], rounded to the nearest bfloat16.
void scale_shift_channels(const uint16_t* x, uint16_t* y, int64_t rows, int64_t channels,
                          const float* scale, const float* shift);

// The same followed by SiLU, y = t·sigmoid(t), rounded once.
void scale_shift_silu_channels(const uint16_t* x, uint16_t* y, int64_t rows, int64_t channels,
                               const float* scale, const float* shift);

// sum += Σ x[i] and sumsq += Σ x[i]² over `count` values.
void add_run_sums(const uint16_t* x, int64_t count, float* sum, float* sumsq);

// y[i] = x[i] · scale + shift, rounded to the nearest bfloat16.
void scale_shift_run(const uint16_t* x, uint16_t* y, int64_t count, float scale, float shift);

// The same followed by SiLU, rounded once.
void scale_shift_silu_run(const uint16_t* x, uint16_t* y, int64_t count, float scale, float shift);

// LayerNorm of `rows` rows of `width` values: y = (x − mean) / √(var + eps) · weight + bias,
// mean and variance over each row.
void normalize_rows(const uint16_t* x, uint16_t* y, int64_t rows, int64_t width, const float* weight,
                    const float* bias, float eps);

// Which build of the loops runs: "avx512", "avx2" or "baseline".
const char* instruction_set();

}  // namespace latent::models::bf16
