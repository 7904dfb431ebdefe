#pragma once

// What the processor offers, for choosing a compute precision and reporting benchmarks.

#include <string>

namespace latent::util {

// The processor's model name ("AMD EPYC 9B45", ...), or "unknown".
std::string cpu_name();

// True when the processor computes bf16 products natively (AVX512-BF16 or AMX-BF16), so
// bf16 runs faster than fp32 through oneDNN; elsewhere bf16 is emulated and slower.
bool cpu_has_native_bf16();

// True when the processor has AMX tiles for bf16 (Intel Sapphire Rapids and later).
bool cpu_has_amx_bf16();

// The 1-, 5- and 15-minute load averages, to say how busy the machine was while measuring.
struct LoadAverage {
  double one = -1, five = -1, fifteen = -1;
};
LoadAverage load_average();

}  // namespace latent::util
