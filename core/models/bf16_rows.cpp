#include "core/models/bf16_rows.h"

#include <cstring>

namespace latent::models::bf16 {

namespace baseline {
#include "core/models/bf16_rows_loops.inc"
}  // namespace baseline

// Built in bf16_rows_avx512.cpp and bf16_rows_avx2.cpp with those instruction sets.
#define LATENT_BF16_ROWS_DECLARE(isa)                                                             \
  namespace isa {                                                                                  \
  void add_channel_sums(const uint16_t*, int64_t, int64_t, float*, float*);                        \
  void scale_shift_channels(const uint16_t*, uint16_t*, int64_t, int64_t, const float*, const float*); \
  void add_run_sums(const uint16_t*, int64_t, float*, float*);                                     \
  void scale_shift_run(const uint16_t*, uint16_t*, int64_t, float, float);                         \
  void scale_shift_silu_channels(const uint16_t*, uint16_t*, int64_t, int64_t, const float*, const float*); \
  void scale_shift_silu_run(const uint16_t*, uint16_t*, int64_t, float, float);                    \
  void normalize_rows(const uint16_t*, uint16_t*, int64_t, int64_t, const float*, const float*, float); \
  }
LATENT_BF16_ROWS_DECLARE(avx512)
LATENT_BF16_ROWS_DECLARE(avx2)
#undef LATENT_BF16_ROWS_DECLARE

namespace {

struct Loops {
  const char* name;
  decltype(&baseline::add_channel_sums) add_channel_sums;
  decltype(&baseline::scale_shift_channels) scale_shift_channels;
  decltype(&baseline::add_run_sums) add_run_sums;
  decltype(&baseline::scale_shift_run) scale_shift_run;
  decltype(&baseline::normalize_rows) normalize_rows;
  decltype(&baseline::scale_shift_silu_channels) scale_shift_silu_channels;
  decltype(&baseline::scale_shift_silu_run) scale_shift_silu_run;
};

Loops choose() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
    return {"avx512", avx512::add_channel_sums, avx512::scale_shift_channels, avx512::add_run_sums,
            avx512::scale_shift_run, avx512::normalize_rows,
            avx512::scale_shift_silu_channels, avx512::scale_shift_silu_run};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {"avx2", avx2::add_channel_sums, avx2::scale_shift_channels, avx2::add_run_sums,
            avx2::scale_shift_run, avx2::normalize_rows,
            avx2::scale_shift_silu_channels, avx2::scale_shift_silu_run};
#endif
  return {"baseline", baseline::add_channel_sums, baseline::scale_shift_channels,
          baseline::add_run_sums, baseline::scale_shift_run, baseline::normalize_rows,
          baseline::scale_shift_silu_channels, baseline::scale_shift_silu_run};
}

const Loops& loops() {
  static const Loops chosen = choose();
  return chosen;
}

}  // namespace

void add_channel_sums(const uint16_t* x, int64_t rows, int64_t channels, float* sum, float* sumsq) {
  loops().add_channel_sums(x, rows, channels, sum, sumsq);
}

void scale_shift_channels(const uint16_t* x, uint16_t* y, int64_t rows, int64_t channels,
                          const float* scale, const float* shift) {
  loops().scale_shift_channels(x, y, rows, channels, scale, shift);
}

void add_run_sums(const uint16_t* x, int64_t count, float* sum, float* sumsq) {
  loops().add_run_sums(x, count, sum, sumsq);
}

void scale_shift_run(const uint16_t* x, uint16_t* y, int64_t count, float scale, float shift) {
  loops().scale_shift_run(x, y, count, scale, shift);
}

void scale_shift_silu_channels(const uint16_t* x, uint16_t* y, int64_t rows, int64_t channels,
                               const float* scale, const float* shift) {
  loops().scale_shift_silu_channels(x, y, rows, channels, scale, shift);
}

void scale_shift_silu_run(const uint16_t* x, uint16_t* y, int64_t count, float scale, float shift) {
  loops().scale_shift_silu_run(x, y, count, scale, shift);
}

void normalize_rows(const uint16_t* x, uint16_t* y, int64_t rows, int64_t width, const float* weight,
                    const float* bias, float eps) {
  loops().normalize_rows(x, y, rows, width, weight, bias, eps);
}

const char* instruction_set() { return loops().name; }

}  // namespace latent::models::bf16
