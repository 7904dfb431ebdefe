#include "core/util/gpu_memory.h"

#ifdef LATENT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace latent::util {

#ifdef LATENT_WITH_CUDA
namespace allocator = c10::cuda::CUDACachingAllocator;

// StatType::AGGREGATE, the sum over pool kinds; the enum's namespace moved in LibTorch 2.x.
constexpr size_t kAggregate = 0;

int64_t cuda_peak_reserved_bytes(int index) {
  const auto stats = allocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  return stats.reserved_bytes[kAggregate].peak;
}

void reset_cuda_peak(int index) { allocator::resetPeakStats(static_cast<c10::DeviceIndex>(index)); }
#else
int64_t cuda_peak_reserved_bytes(int) { return -1; }
void reset_cuda_peak(int) {}
#endif

}  // namespace latent::util
