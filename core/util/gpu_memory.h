#pragma once

// Device memory held by LibTorch's CUDA caching allocator. Builds of LibTorch without CUDA
// (Debian's) report -1.

#include <cstdint>

namespace latent::util {

// The high-water mark of memory the allocator reserved from the driver on CUDA device
// `index` since the last reset_cuda_peak(index): what the run needed of the card.
int64_t cuda_peak_reserved_bytes(int index = 0);

// Restarts the high-water mark at what is reserved now (nothing where there is no CUDA).
void reset_cuda_peak(int index = 0);

}  // namespace latent::util
